# SPDX-License-Identifier: GPL-3.0-or-later
"""What a take drives on one head, said plainly: the channels keyed (per family: ARKit,
visemes, VRM vowels, others), the meshes, the bones, the eyes, and what the preset offers
that the rig lacks ("31 of 52 ARKit channels, teeth and tongue meshes too; no head bone
found: head motion not keyed"). A head with no mouth channel or no head motion keyed gets a
warning. Shown before Generate (the panel), after it (INFO report) and in the batch
report. Pure Python over RigTargets; ``report_head`` reads names off the bpy objects."""
from __future__ import annotations

from ..core import constants, face_channels
from .preset import Preset
from .targets import RigTargets

_ARKIT = set(face_channels.ARKIT_NAMES)


def family(name: str) -> str:
    if name in _ARKIT:
        return "ARKit"
    if name.lower().startswith("viseme_"):
        return "viseme"
    if name.startswith("Fcl_MTH_"):
        return "VRM vowel"
    return "shape key"


def _families(preset: Preset, keyed: set[str]) -> dict:
    out: dict[str, dict] = {}
    for t in preset.shape_keys:
        f = out.setdefault(family(t.name), {"keyed": [], "missing": []})
        f["keyed" if t.name in keyed else "missing"].append(t.name)
    return out


def describe_targets(targets: RigTargets, preset: Preset, head: str, face: str | None,
                     armature: str | None, look_keys: bool = True) -> dict:
    """The report of one head (a JSON-ready dict; ``summary`` and ``warnings`` for people)."""
    keyed = {t for b in targets.meshes for t, _ in b.keys}
    families = _families(preset, keyed)
    jaw_bone = any(b.source == constants.JAW for b in targets.bones)
    neck_bones = [b.name for b in targets.bones if b.source == constants.NECK]
    mouth = bool(targets.mouth_targets) or jaw_bone
    parts = []
    for name, f in families.items():        # families left out (a fallback mouth) unsaid
        n, total = len(f["keyed"]), len(f["keyed"]) + len(f["missing"])
        if n:
            parts.append(f"{n} of {total} {name} channels" if name != "shape key"
                         else f"{n} of {total} shape keys")
    if targets.correctives:
        parts.append(f"{len(targets.correctives)} of 18 pose correctives")
    if not parts:
        parts.append("no shape key keyed")
    others = [b.mesh for b in targets.meshes if b.mesh != face]
    if others:
        parts.append(f"meshes {', '.join(others)} too")
    parts.append(("neck/head bones " + ", ".join(neck_bones)) if neck_bones else
                 "no neck or head bone found: head motion not keyed")
    if targets.eye_bones:
        parts.append("eyes: bones " + ", ".join(targets.eye_bones))
    elif targets.look_keys:
        parts.append("eyes: eyeLook keys")
    warnings = []
    if not mouth:
        warnings.append(f"{head}: no mouth channel keyed (the {preset.name} preset found "
                        "no jaw, mouth or viseme key and no jaw bone): the head will not speak")
    if not neck_bones:
        looked = list(dict.fromkeys(c for b in preset.bones if b.source == constants.NECK
                                    for c in b.candidates))
        more = f" and {len(looked) - 12} more" if len(looked) > 12 else ""
        warnings.append(f"{head}: head motion not keyed: no neck or head bone found"
                        + (f" (looked for {', '.join(looked[:12])}{more})" if looked else
                           f" (the {preset.name} preset maps none)"))
    return {
        "head": head, "preset": preset.key, "face_mesh": face, "armature": armature,
        "meshes": {b.mesh: [k for _, k in b.keys] for b in targets.meshes},
        "channels": {name: {"keyed": len(f["keyed"]),
                            "of": len(f["keyed"]) + len(f["missing"]),
                            "missing": f["missing"]} for name, f in families.items()},
        "bones": {"head_motion": neck_bones, "jaw": [b.name for b in targets.bones
                                                     if b.source == constants.JAW],
                  "eyes": list(targets.eye_bones), "not_found": list(targets.missing_roles)},
        "eye_keys": list(targets.look_keys) if look_keys else [],
        "mouth": mouth, "head_motion": bool(neck_bones),
        "summary": f"{head}: " + "; ".join(parts), "warnings": warnings}


def report_head(rig, preset: Preset) -> dict:
    """describe_targets for a resolved HeadRig (head.py)."""
    return describe_targets(rig.targets, preset, rig.head.name,
                            rig.mesh.name if rig.mesh is not None else None,
                            rig.armature.name if rig.armature is not None else None)
