# SPDX-License-Identifier: GPL-3.0-or-later
"""The targets one head's take drives, and their values.

``select_targets`` keeps the preset's targets the head really has, once, when the take
starts: per mesh the shape keys each target drives (under any spelling, rig/names.py; of an
``exclusive`` list of groups only the first the head has), and the armature's bones
(neck/head split, turned into each bone's rest frame, rig/skeleton.py). ``shape_values``
and ``bone_quaternions`` turn prepared channels (rig/channels.py) into one value curve per
target. Pure numpy, no bpy."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Mapping

import numpy as np

from . import channels, motion, skeleton
from .names import match_bone, match_keys
from .preset import BoneTarget, Preset, ShapeTarget

LOOK_KEYS = tuple(f"eyeLook{d}{s}" for s in ("Left", "Right") for d in ("In", "Out", "Up", "Down"))


@dataclass(frozen=True)
class MeshBinding:
    """One mesh of a head and its shape keys, each with the target that drives it."""
    mesh: str
    keys: tuple[tuple[str, str], ...]          # (target name, shape key name)

    @property
    def targets(self) -> set[str]:
        return {t for t, _ in self.keys}


@dataclass(frozen=True)
class RigTargets:
    """A preset resolved against one head: only the targets that head has."""
    shapes: tuple[ShapeTarget, ...] = ()
    correctives: tuple[tuple[int, str], ...] = ()   # (FLAME Pose index 0..17, target name)
    bones: tuple[BoneTarget, ...] = ()               # named as the armature names them
    blink_keys: tuple[str, ...] = ()                  # targets closed by procedural blinks
    eye_bones: tuple[str, ...] = ()                   # turned by the gaze
    slider_range: tuple[float, float] | None = None
    meshes: tuple[MeshBinding, ...] = ()
    eye_axis_maps: tuple = ()                         # per eye bone: 3x3 or None (FLAME axes)
    look_keys: tuple[str, ...] = ()                   # eyeLook* targets moved by the gaze
    missing_roles: tuple[str, ...] = ()               # bone roles asked for and not found

    @property
    def shape_names(self) -> list[str]:
        """Targets driven by the channels (weighted channels, then correctives)."""
        return [t.name for t in self.shapes] + [name for _, name in self.correctives]

    @property
    def bone_names(self) -> list[str]:
        return [t.name for t in self.bones]

    @property
    def mouth_targets(self) -> list[str]:
        return [t.name for t in self.shapes if t.is_mouth]


def _group_present(preset: Preset, have: set[str]) -> set[str]:
    """Groups dropped because an earlier group of their ``exclusive`` list is present."""
    dropped = set()
    for order in preset.exclusive:
        present = [g for g in order if any(t.group == g and t.name in have
                                           for t in preset.shape_keys)]
        if present:
            dropped |= set(order) - {present[0]}
    return dropped


def bind_meshes(preset: Preset, mesh_keys: Mapping[str, Iterable[str]],
                procedural: bool = True) -> tuple[MeshBinding, ...]:
    """Per mesh, (target, key) for every shape key a target of the preset drives."""
    names = [t.name for t in preset.shape_keys] + preset.corrective_names()
    names += [n for n in preset.blink_keys if n not in names] if procedural else []
    raw = []
    for mesh, keys in mesh_keys.items():
        keys = list(keys)
        pairs, taken = [], set()
        for name in names:
            for key in match_keys(name, keys, preset.aliases):
                if key not in taken:           # a key answers to one target: the first
                    taken.add(key)
                    pairs.append((name, key))
        raw.append((mesh, pairs))
    have = {t for _, pairs in raw for t, _ in pairs}
    dropped = _group_present(preset, have)
    off = {t.name for t in preset.shape_keys if t.group in dropped}
    return tuple(MeshBinding(mesh, tuple(p for p in pairs if p[0] not in off))
                 for mesh, pairs in raw if any(p[0] not in off for p in pairs))


def _bones(preset: Preset, bones: Mapping[str, bool] | None, rest: Mapping | None,
           character: np.ndarray | None) -> tuple[tuple[BoneTarget, ...], tuple[str, ...]]:
    found, missing = [], []
    for t in preset.bones:
        name = t.name if bones is None else match_bone(list(t.candidates), bones)
        if name is None:
            missing.append(t.name)
            continue
        found.append(replace(t, name=name))
    out = []
    for t in found:
        if t.frame == "character":
            same = [b for b in found if b.frame == "character" and b.source == t.source]
            share = t.share / max(sum(b.share for b in same), 1e-9)
            amap = skeleton.bone_axis_map(rest.get(t.name) if rest else None, character) @ t.axis_map
            t = replace(t, axis_map=amap, scale=t.scale * share)
        out.append(t)
    return tuple(out), tuple(missing)


def select_targets(preset: Preset, shape_keys: Iterable[str] | Mapping | None = None,
                   bones: Iterable[str] | Mapping[str, bool] | None = None,
                   procedural: bool = True, rest: Mapping | None = None,
                   character: np.ndarray | None = None) -> RigTargets:
    """The preset's targets found on a head. ``shape_keys``: one mesh's key names, or
    {mesh name: key names} for every mesh of the head (None: every target, one mesh "");
    ``bones``: names, or {name: deforms} (None: every bone as named); ``rest``: {bone:
    3x3 rest rotation in world} and ``character``: the character's world axes (rig/
    skeleton.py), for ``frame: character`` bones; ``procedural`` False leaves out blinks
    and gaze."""
    if shape_keys is None:
        mesh_keys = {"": [t.name for t in preset.shape_keys] + preset.corrective_names()
                     + list(preset.blink_keys)}
    elif isinstance(shape_keys, Mapping):
        mesh_keys = dict(shape_keys)
    else:
        mesh_keys = {"": list(shape_keys)}
    meshes = bind_meshes(preset, mesh_keys, procedural)
    have = set().union(*(m.targets for m in meshes)) if meshes else set()
    if bones is not None and not isinstance(bones, Mapping):
        bones = {b: True for b in bones}
    bone_targets, missing = _bones(preset, bones, rest, character)
    eye_bones, eye_maps = [], []
    if procedural:
        for role in preset.eye_bones:
            cands = [role] + (list(skeleton.eye_candidates(role)) if preset.eye_frame == "character" else [])
            name = role if bones is None else match_bone(cands, bones)
            if name is None or name in eye_bones:
                continue
            eye_bones.append(name)
            eye_maps.append(skeleton.bone_axis_map(rest.get(name) if rest else None, character)
                            if preset.eye_frame == "character" else None)
    # eye bones win over eyeLook keys: a rig with both would turn its eyes twice
    look = tuple(n for n in LOOK_KEYS if n in have) \
        if procedural and preset.look_keys and not eye_bones else ()
    return RigTargets(
        shapes=tuple(t for t in preset.shape_keys if t.name in have),
        correctives=tuple((i, n) for i, n in enumerate(preset.corrective_names()) if n in have),
        bones=bone_targets,
        blink_keys=tuple(n for n in preset.blink_keys if n in have) if procedural else (),
        eye_bones=tuple(eye_bones), slider_range=preset.slider_range, meshes=meshes,
        eye_axis_maps=tuple(eye_maps), look_keys=look, missing_roles=missing)


def _channels(m: np.ndarray) -> np.ndarray:
    """Prepared values: (N, 123) as they are, or (N, 56) FLAME with its implied face."""
    return channels.combine(m, None) if m.shape[1] == channels.FLAME_DIM else m


def shape_values(targets: RigTargets | Preset, m: np.ndarray) -> dict[str, np.ndarray]:
    """Per driven target, its values for prepared and resampled channels m (N, 123) or
    FLAME motion (N, 56): offset + sum(weight * channel), clamped; FLAME's pose
    correctives from jaw and neck."""
    if isinstance(targets, Preset):
        targets = select_targets(targets)
    m = _channels(np.asarray(m, dtype=np.float32))
    out = {}
    for t in targets.shapes:
        v = np.full(len(m), t.offset, dtype=np.float64)
        for idx, w in t.weights.items():
            v += w * m[:, idx]
        if t.clamp is not None:
            v = np.clip(v, *t.clamp)
        out[t.name] = v.astype(np.float32)
    if targets.correctives:
        corr = motion.pose_correctives(m[:, motion.NECK], m[:, motion.JAW])
        for i, name in targets.correctives:
            out[name] = corr[:, i]
    return out


def bone_quaternions(targets: RigTargets | Preset, m: np.ndarray) -> dict[str, np.ndarray]:
    """Per driven bone, (N, 4) quaternions (w, x, y, z) in the bone's local space: the
    rotation of ``scale * axis_map @ flame_axis_angle``."""
    if isinstance(targets, Preset):
        targets = select_targets(targets)
    out = {}
    for t in targets.bones:
        aa = (m[:, t.source].astype(np.float64) @ t.axis_map.T) * t.scale
        out[t.name] = motion.axis_angle_to_quaternion(aa)
    return out
