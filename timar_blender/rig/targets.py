# SPDX-License-Identifier: GPL-3.0-or-later
"""The targets one head's take drives, and their values.

``select_targets`` keeps the preset's targets the head really has (its shape-key and bone
names), once, when the take starts; ``shape_values`` and ``bone_quaternions`` turn prepared
motion into one value curve per target. Pure numpy, no bpy."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from . import motion
from .preset import BoneTarget, Preset, ShapeTarget


@dataclass(frozen=True)
class RigTargets:
    """A preset resolved against one head: only the targets that head has."""
    shapes: tuple[ShapeTarget, ...] = ()
    correctives: tuple[tuple[int, str], ...] = ()   # (FLAME Pose index 0..17, shape key)
    bones: tuple[BoneTarget, ...] = ()
    blink_keys: tuple[str, ...] = ()                  # closed by procedural blinks
    eye_bones: tuple[str, ...] = ()                   # turned by procedural saccades
    slider_range: tuple[float, float] | None = None

    @property
    def shape_names(self) -> list[str]:
        """Shape keys driven by the motion (weighted channels, then correctives)."""
        return [t.name for t in self.shapes] + [name for _, name in self.correctives]

    @property
    def bone_names(self) -> list[str]:
        return [t.name for t in self.bones]


def select_targets(preset: Preset, shape_keys: Iterable[str] | None = None,
                   bones: Iterable[str] | None = None, procedural: bool = True) -> RigTargets:
    """The preset's targets found among ``shape_keys`` and ``bones`` (None: all of them);
    ``procedural`` False leaves out blinks and saccades."""
    keys = None if shape_keys is None else set(shape_keys)
    have_bones = None if bones is None else set(bones)

    def key_ok(name):
        return keys is None or name in keys

    def bone_ok(name):
        return have_bones is None or name in have_bones

    return RigTargets(
        shapes=tuple(t for t in preset.shape_keys if key_ok(t.name)),
        correctives=tuple((i, n) for i, n in enumerate(preset.corrective_names()) if key_ok(n)),
        bones=tuple(t for t in preset.bones if bone_ok(t.name)),
        blink_keys=tuple(n for n in preset.blink_keys if key_ok(n)) if procedural else (),
        eye_bones=tuple(n for n in preset.eye_bones if bone_ok(n)) if procedural else (),
        slider_range=preset.slider_range)


def shape_values(targets: RigTargets | Preset, m: np.ndarray) -> dict[str, np.ndarray]:
    """Per driven shape key, its values for prepared and resampled motion m (N, 56):
    offset + sum(weight * channel), clamped; FLAME's pose correctives from jaw and neck."""
    if isinstance(targets, Preset):
        targets = select_targets(targets)
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
