# SPDX-License-Identifier: GPL-3.0-or-later
"""Rig presets: JSON files that map model channels to shape keys and bones.

A preset (see assets/rigs/*.json and docs/RIG_PRESETS.md) lists
- ``shape_keys``: ``{"name", "weights": {channel: w}, "offset", "clamp": [lo, hi],
  "optional", "repeat", "group"}``; value = offset + sum(w * channel), clamped. With
  ``"repeat": N`` the entry is expanded N times, ``{n}`` in the name and weight keys
  becoming 1..N. Channels are any of rig/channels.py's 123: FLAME (exp1..exp50,
  jaw_x..jaw_z, neck_x..neck_z), ARKit (``jawOpen``..) and visemes (``viseme:PP``..).
  A name matches the head's keys in any common spelling (rig/names.py).
- ``exclusive``: lists of ``group`` names; of each list only the first group the head has
  is driven (one mouth: ARKit's, else the visemes', else VRM's vowels; never two stacked).
- ``aliases``: ``{"target name": ["other spelling", ..]}``, added to the built-in ones.
- ``bones``: ``{"name", "source": "jaw" | "neck", "axis_map": 3x3, "scale", "optional",
  "frame", "share", "candidates"}``. ``frame`` "bone" (default): the bone's quaternion is
  the rotation of ``scale * axis_map @ flame_axis_angle`` in its own axes (FLAME-axis
  rigs). ``frame`` "character": the rotation is the FLAME one turned into the character's
  world frame (left, up, forward) and from there into the bone's rest frame, so a nod is a
  nod on any skeleton; ``share`` splits it between bones of one source (neck 0.4, head
  0.6). ``candidates``: names to look for (default: the name, then rig/names.py's list).
- ``slider_range`` (widens the sliders of driven keys), ``correctives`` (FLAME's Pose1..18),
  ``blink`` (shape keys closed by procedural blinks, on top of the model's) and ``eyes``
  (``bones`` turned by the gaze, ``frame`` as for bones; ``look_keys``: true keys the
  ARKit eyeLook* channels from the gaze too).
This module turns the JSON into targets with channel indices (the first step of the rig/
flow); nothing here imports bpy.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core import assets, constants, input_files
from ..errors import PresetError
from .channels import MOUTH_CHANNELS, channel_index  # noqa: F401 - channel_index: the public name
from .names import BONE_CANDIDATES

FRAMES = ("bone", "character")
# A "repeat" expands one entry N times; real rigs have at most a few hundred shape keys
# (ARKit 52, FLAME 50 + 18 correctives), so a preset asking for more is a mistake and is
# refused before anything is expanded (3000000 repeats took 2.9 GB).
MAX_REPEAT = 1000
MAX_SHAPE_KEYS = 4000


@dataclass
class ShapeTarget:
    name: str
    weights: dict[int, float]
    offset: float = 0.0
    clamp: tuple[float, float] | None = None
    optional: bool = False
    group: str = ""

    @property
    def is_mouth(self) -> bool:
        """Driven by a jaw, lip or viseme channel (what lip sync moves)."""
        return any(i in MOUTH_CHANNELS for i in self.weights)


@dataclass
class BoneTarget:
    name: str
    source: slice
    axis_map: np.ndarray
    scale: float = 1.0
    optional: bool = False
    frame: str = "bone"                     # "bone" or "character" (see the module doc)
    share: float = 1.0
    candidates: tuple[str, ...] = ()


@dataclass
class Preset:
    key: str
    name: str
    description: str = ""
    shape_keys: list[ShapeTarget] = field(default_factory=list)
    bones: list[BoneTarget] = field(default_factory=list)
    slider_range: tuple[float, float] | None = None
    correctives: str | None = None          # name pattern, e.g. "Pose{n}" (always optional)
    blink_keys: list[str] = field(default_factory=list)
    eye_bones: list[str] = field(default_factory=list)
    eye_frame: str = "bone"
    look_keys: bool = False
    aliases: dict[str, list[str]] = field(default_factory=dict)
    exclusive: list[list[str]] = field(default_factory=list)

    def looked_for(self) -> list[str]:
        """Every name the preset drives, for a message when a head has none of them."""
        return ([t.name for t in self.shape_keys] + self.blink_keys
                + [t.name for t in self.bones] + self.eye_bones)

    def required_shape_keys(self) -> list[str]:
        return [t.name for t in self.shape_keys if not t.optional]

    def required_bones(self) -> list[str]:
        return [t.name for t in self.bones if not t.optional]

    def corrective_names(self) -> list[str]:
        return [self.correctives.format(n=n) for n in range(1, 19)] if self.correctives else []


def _expand(entry: dict, n: int) -> dict:
    fmt = lambda s: s.replace("{n}", str(n))  # noqa: E731
    out = dict(entry)
    out["name"] = fmt(entry["name"])
    out["weights"] = {fmt(k): v for k, v in entry.get("weights", {}).items()}
    return out


def _shape_target(entry: dict) -> ShapeTarget:
    weights = {}
    for ch, w in entry.get("weights", {}).items():
        weights[channel_index(ch)] = float(w)
    clamp = entry.get("clamp")
    if clamp is not None:
        if len(clamp) != 2 or float(clamp[0]) > float(clamp[1]):
            raise ValueError(f"shape key '{entry['name']}': clamp must be [low, high]")
        clamp = (float(clamp[0]), float(clamp[1]))
    return ShapeTarget(str(entry["name"]), weights, float(entry.get("offset", 0.0)), clamp,
                       bool(entry.get("optional", False)), str(entry.get("group", "")))


def _bone_target(entry: dict) -> BoneTarget:
    source = {"jaw": constants.JAW, "neck": constants.NECK}.get(entry.get("source"))
    if source is None:
        raise ValueError(f"bone '{entry.get('name')}': source must be \"jaw\" or \"neck\"")
    axis_map = np.asarray(entry.get("axis_map", np.eye(3)), dtype=np.float64)
    if axis_map.shape != (3, 3):
        raise ValueError(f"bone '{entry['name']}': axis_map must be a 3x3 matrix")
    frame = entry.get("frame", "bone")
    if frame not in FRAMES:
        raise ValueError(f"bone '{entry['name']}': frame must be \"bone\" or \"character\"")
    name = str(entry["name"])
    candidates = entry.get("candidates") or [name] + BONE_CANDIDATES.get(name, [])
    return BoneTarget(name, source, axis_map, float(entry.get("scale", 1.0)),
                      bool(entry.get("optional", False)), frame,
                      float(entry.get("share", 1.0)), tuple(str(c) for c in candidates))


def _repeat(entry: dict) -> int:
    reps = entry.get("repeat", 0)
    if not isinstance(reps, int) or isinstance(reps, bool) or not 0 <= reps <= MAX_REPEAT:
        raise ValueError(f"shape key '{entry['name']}': \"repeat\" must be a whole number "
                         f"from 0 to {MAX_REPEAT}, got {reps!r}")
    return reps


def _entries(data: dict, name: str) -> list[dict]:
    """The list ``data[name]`` of JSON objects (empty when absent)."""
    entries = data.get(name, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"\"{name}\" must be a list of objects")
    return entries


def _section(data: dict, name: str) -> dict:
    value = data.get(name) or {}
    if not isinstance(value, dict):
        raise ValueError(f"\"{name}\" must be an object")
    return value


def parse_preset(data: dict, key: str = "custom") -> Preset:
    """Build a Preset from decoded JSON; raises ValueError on a malformed entry."""
    if not isinstance(data, dict):
        raise ValueError("the top level must be a JSON object")
    shapes = []
    for entry in _entries(data, "shape_keys"):
        if "name" not in entry:
            raise ValueError("every shape_keys entry needs a \"name\"")
        reps = _repeat(entry)
        if len(shapes) + max(reps, 1) > MAX_SHAPE_KEYS:
            raise ValueError(f"more than {MAX_SHAPE_KEYS} shape keys")
        for e in ([_expand(entry, n) for n in range(1, reps + 1)] if reps else [entry]):
            shapes.append(_shape_target(e))
    bones = [_bone_target(e) for e in _entries(data, "bones")]
    if not shapes and not bones:
        raise ValueError("the preset drives nothing: add \"shape_keys\" or \"bones\"")
    rng = data.get("slider_range")
    if rng is not None and (not isinstance(rng, list) or len(rng) != 2):
        raise ValueError("\"slider_range\" must be [low, high]")
    corr = data.get("correctives")
    corr = corr.get("name") if isinstance(corr, dict) else corr
    if corr is not None and not isinstance(corr, str):
        raise ValueError("\"correctives\" must be a name pattern such as \"Pose{n}\"")
    blink = _section(data, "blink").get("shape_keys", [])
    eyes = _section(data, "eyes")
    eye_bones = eyes.get("bones", [])
    for name, names in (("blink", blink), ("eyes", eye_bones)):
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"\"{name}\" must list names (text)")
    aliases = _section(data, "aliases")
    if not all(isinstance(v, list) for v in aliases.values()):
        raise ValueError("\"aliases\" must map a target name to a list of other spellings")
    groups = data.get("exclusive", [])
    if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
        raise ValueError("\"exclusive\" must be a list of lists of group names")
    exclusive = [list(map(str, g)) for g in groups]
    if eyes.get("frame", "bone") not in FRAMES:
        raise ValueError("eyes: frame must be \"bone\" or \"character\"")
    return Preset(
        key=key, name=str(data.get("name", key)), description=str(data.get("description", "")),
        shape_keys=shapes, bones=bones,
        slider_range=(float(rng[0]), float(rng[1])) if rng else None,
        correctives=corr, blink_keys=list(blink),
        eye_bones=list(eye_bones), eye_frame=eyes.get("frame", "bone"),
        look_keys=bool(eyes.get("look_keys", False)),
        aliases={str(k): [str(x) for x in v] for k, v in aliases.items()},
        exclusive=exclusive)


def load_preset_file(path: str | os.PathLike, key: str | None = None) -> Preset:
    path = Path(path)
    input_files.check_input_file(path, "rig mapping file", PresetError, "preset")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return parse_preset(data, key or path.stem)
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError,
            RecursionError) as exc:       # any shape of malformed JSON, one line
        raise PresetError(f"{path.name}: invalid rig mapping ({exc})") from None
    except OSError as exc:
        raise PresetError(f"cannot read the rig mapping file {path} ({exc.strerror or exc})") from None


def builtin_presets() -> dict[str, Path]:
    """Preset key (file stem) -> file, for the JSON files shipped in assets/rigs
    (model_core.assets: the extension's own copy, the repository's, or $TIMAR_ASSETS)."""
    d = assets.rig_presets_dir()
    return {p.stem: p for p in sorted(d.glob("*.json"))} if d.is_dir() else {}


def get_preset(key: str, custom_path: str = "") -> Preset:
    """A shipped preset by key, or the user's JSON file when key is 'CUSTOM'."""
    if key == "CUSTOM":
        if not custom_path:
            raise PresetError("the Custom rig preset needs a mapping file (.json)")
        return load_preset_file(custom_path, "custom")
    files = builtin_presets()
    if key not in files:
        raise PresetError(f"unknown rig preset '{key}' (available: {', '.join(files) or 'none'})")
    return load_preset_file(files[key], key)

