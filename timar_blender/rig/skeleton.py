# SPDX-License-Identifier: GPL-3.0-or-later
"""Head motion on any skeleton: the model's rotations are in FLAME's frame (x the
character's left, y up, z forward); a bone turns about its own rest axes, which differ per
rig (roll, Y-up or Z-up armatures, bones pointing anywhere). These functions build the
3x3 map from a FLAME axis-angle vector to a bone's local axis-angle vector, so the same
nod is a nod in the world on every rig. Pure numpy; head.py reads the matrices from bpy.

The character's frame comes from its armature object: the armature axis nearest the world's
up is its up (Z for Blender and glTF rigs, Y for FBX/Mixamo ones), its X is the
character's left (both conventions face the front view), forward = left x up."""
from __future__ import annotations

import numpy as np

from .names import BONE_CANDIDATES

WORLD_UP = np.array([0.0, 0.0, 1.0])


def _unit_columns(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)[:3, :3]
    return m / np.maximum(np.linalg.norm(m, axis=0, keepdims=True), 1e-12)


def character_axes(armature_world: np.ndarray | None) -> np.ndarray:
    """World-from-FLAME rotation (columns: the character's left, up, forward in world) of a
    character whose armature object has the world matrix ``armature_world``."""
    w = np.eye(3) if armature_world is None else _unit_columns(armature_world)
    along = w.T @ WORLD_UP                   # each armature axis against the world's up
    axis = int(np.argmax(np.abs(along[1:]))) + 1          # Y or Z: never X (the left)
    up = w[:, axis] * np.sign(along[axis] or 1.0)
    left = w[:, 0] - up * (w[:, 0] @ up)
    left /= max(np.linalg.norm(left), 1e-12)
    forward = np.cross(left, up)
    return np.column_stack([left, up, forward])


def bone_axis_map(bone_world: np.ndarray | None, character: np.ndarray | None) -> np.ndarray:
    """3x3 map: FLAME axis-angle -> the bone's local axis-angle. ``bone_world`` is the
    bone's rest rotation in world (armature world @ bone.matrix_local), ``character`` the
    result of :func:`character_axes` (None: identity)."""
    b = np.eye(3) if bone_world is None else _unit_columns(bone_world)
    c = np.eye(3) if character is None else np.asarray(character, dtype=np.float64)
    # a world rotation R = C R_flame C^T is, in the bone's rest frame, B^T R B; its axis is
    # B^T C a for the FLAME axis a (B, C orthonormal)
    return b.T @ c


def eye_candidates(role: str) -> list[str]:
    return BONE_CANDIDATES.get(role, [])


def look_direction(character: np.ndarray, eye_pos: np.ndarray, target_pos: np.ndarray,
                   limit: float = 0.5) -> tuple[float, float]:
    """(yaw, pitch) in radians of ``target_pos`` seen from ``eye_pos`` in the character's
    frame (yaw + towards the character's left, pitch + up), clamped to +-limit."""
    d = np.asarray(target_pos, dtype=np.float64) - np.asarray(eye_pos, dtype=np.float64)
    local = np.asarray(character).T @ d               # (left, up, forward)
    if np.linalg.norm(local) < 1e-9:
        return 0.0, 0.0
    yaw = float(np.arctan2(local[0], local[2]))
    pitch = float(np.arctan2(local[1], np.hypot(local[0], local[2])))
    return float(np.clip(yaw, -limit, limit)), float(np.clip(pitch, -limit, limit))
