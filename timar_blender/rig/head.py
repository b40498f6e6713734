# SPDX-License-Identifier: GPL-3.0-or-later
"""A head checked against a rig preset: every mesh of the character behind it, its
armature, and the preset's targets it really has (``RigTargets``), or a RigError listing
what is missing.

The user may pick the armature, any mesh of the character (face, teeth, an eye), an empty
the character hangs under, or (batch, scripts) a collection. The character is everything
under the armature (children and meshes it deforms), else under the picked object's parent
empty, else the mesh alone; every mesh there with mapped shape keys is driven with the same
values. The *face* (the take's name, reports) is the mesh with the most mapped keys, ties
broken by vertex count, never an eyeball."""
from __future__ import annotations

import re
from dataclasses import dataclass

import bpy
import numpy as np

from ..core import constants
from ..errors import RigError
from . import skeleton
from .preset import Preset
from .targets import RigTargets, select_targets

_EYEBALL = re.compile(r"eye(ball)?s?([^a-z]|left|right|$)|cornea|iris|pupil", re.IGNORECASE)
_NOT_EYEBALL = re.compile(r"lash|brow|lid|face|head|body", re.IGNORECASE)


@dataclass
class HeadRig:
    """The parts of a head a preset drives. The head is what the user picked."""
    head: object                    # bpy.types.Object (or Collection)
    mesh: object | None             # the face: most mapped keys
    armature: object | None
    targets: RigTargets             # everything the preset drives on this head
    meshes: tuple = ()              # every driven mesh, the face first

    @property
    def name(self) -> str:
        return self.head.name


def shape_key_names(obj) -> list[str]:
    key = obj.data.shape_keys if obj and obj.type == 'MESH' else None
    return list(key.key_blocks.keys())[1:] if key else []      # the first is the basis


def describe_missing(names: list[str], what: str, limit: int | None = 8) -> str:
    """'shape keys A, B and 3 more' (``limit`` None: every name)."""
    limit = len(names) if limit is None else limit
    shown = ", ".join(names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{what} {shown}{more}"


def is_eyeball(obj) -> bool:
    return bool(_EYEBALL.search(obj.name)) and not _NOT_EYEBALL.search(obj.name)


def _armature_of(obj):
    if obj.parent is not None and obj.parent.type == 'ARMATURE':
        return obj.parent
    mods = [m for m in getattr(obj, "modifiers", []) if m.type == 'ARMATURE' and m.object]
    return mods[0].object if mods else None


def _meshes_of_armature(armature) -> list:
    found = {o for o in armature.children_recursive if o.type == 'MESH'}
    found |= {o for o in bpy.data.objects if o.type == 'MESH' and _armature_of(o) == armature}
    return sorted(found, key=lambda o: o.name)


def character_parts(head):
    """(meshes, armature) of the character ``head`` belongs to."""
    if head is None:
        raise RigError("no head object chosen")
    if not hasattr(head, "type"):                       # a collection
        objs = list(head.all_objects)
        arms = [o for o in objs if o.type == 'ARMATURE']
        return sorted((o for o in objs if o.type == 'MESH'), key=lambda o: o.name), \
            (arms[0] if arms else None)
    if head.type == 'ARMATURE':
        return _meshes_of_armature(head), head
    if head.type == 'MESH':
        armature = _armature_of(head)
        if armature is not None:
            meshes = _meshes_of_armature(armature)
            return (meshes if head in meshes else [head] + meshes), armature
        if head.parent is not None and head.parent.type == 'EMPTY':
            return _under_empty(head.parent)
        return [head], None
    if head.type == 'EMPTY':
        return _under_empty(head)
    raise RigError(f"{head.name}: a head must be a mesh with shape keys, an armature, an "
                   f"empty or collection holding the character (got a {head.type.lower()})")


def _under_empty(empty):
    objs = list(empty.children_recursive)
    arms = [o for o in objs if o.type == 'ARMATURE']
    return sorted((o for o in objs if o.type == 'MESH'), key=lambda o: o.name), \
        (arms[0] if arms else None)


def _bone_data(armature):
    """({bone: deforms}, {bone: world rest rotation}, character axes) of an armature."""
    if armature is None:
        return {}, {}, None
    world = np.array(armature.matrix_world, dtype=np.float64)[:3, :3]
    deforms = {b.name: bool(b.use_deform) for b in armature.data.bones}
    rest = {b.name: world @ np.array(b.matrix_local, dtype=np.float64)[:3, :3]
            for b in armature.data.bones}
    return deforms, rest, skeleton.character_axes(world)


def _face_rank(obj, binding_sizes: dict) -> tuple:
    return (not is_eyeball(obj), binding_sizes.get(obj.name, 0), len(obj.data.vertices))


def resolve_head(head, preset: Preset) -> HeadRig:
    """Find the meshes and armature behind ``head`` and check them against the preset."""
    meshes, armature = character_parts(head)
    mesh_keys = {m.name: shape_key_names(m) for m in meshes if shape_key_names(m)}
    deforms, rest, character = _bone_data(armature)
    targets = select_targets(preset, mesh_keys, deforms, rest=rest, character=character)
    sizes = {b.mesh: len(b.keys) for b in targets.meshes}
    by_name = {m.name: m for m in meshes}
    driven = sorted((by_name[b.mesh] for b in targets.meshes),
                    key=lambda o: _face_rank(o, sizes), reverse=True)
    face = driven[0] if driven else next(
        (m for m in sorted(meshes, key=lambda o: _face_rank(o, sizes), reverse=True)), None)
    have = set().union(*(b.targets for b in targets.meshes)) if targets.meshes else set()
    missing = []
    need_keys = [n for n in preset.required_shape_keys() if n not in have]
    if need_keys:
        missing.append(describe_missing(need_keys, "shape keys"))
    need_bones = [t.name for t in preset.bones if not t.optional
                  and t.name in targets.missing_roles]
    if need_bones:
        missing.append(describe_missing(need_bones, "bones"))
    if missing:
        raise RigError(f"{head.name} does not fit the {preset.name} preset: missing "
                       + "; ".join(missing))
    if not (targets.meshes or targets.bones or targets.eye_bones):
        raise RigError(f"{head.name} has nothing the {preset.name} preset drives: it looked "
                       f"for {describe_missing(list(dict.fromkeys(preset.looked_for())), 'shape keys or bones', None)}"
                       f" on {len(meshes)} mesh(es) and "
                       f"{'the armature ' + armature.name if armature else 'no armature'}; "
                       "pick another preset or a custom mapping")
    return HeadRig(head, face, armature, targets, tuple(driven))


def head_position(rig: HeadRig) -> np.ndarray:
    """Where a head's eyes are, in world: its eye bones, else the middle of its head (or
    neck) bone, else the middle of its face mesh's bounds."""
    arm = rig.armature
    names = list(rig.targets.eye_bones) or [
        b.name for b in rig.targets.bones if b.source.start == constants.NECK.start][-1:]
    if arm is not None and names:
        world = np.array(arm.matrix_world, dtype=np.float64)
        pts = [0.5 * (np.array(arm.data.bones[n].head_local) + np.array(arm.data.bones[n].tail_local))
               for n in names]
        mid = np.mean(pts, axis=0)
        return world[:3, :3] @ mid + world[:3, 3]
    obj = rig.mesh if rig.mesh is not None else rig.head
    world = np.array(obj.matrix_world, dtype=np.float64)
    corners = np.array([tuple(c) for c in getattr(obj, "bound_box", [(0, 0, 0)])])
    return world[:3, :3] @ corners.mean(axis=0) + world[:3, 3]


def partner_look(rig: HeadRig, partner: HeadRig | None) -> tuple[float, float]:
    """(yaw, pitch) from this head's eyes to the partner's, in this character's frame."""
    if partner is None or partner is rig:
        return 0.0, 0.0
    frame_obj = rig.armature or rig.mesh
    character = skeleton.character_axes(np.array(frame_obj.matrix_world, dtype=np.float64)[:3, :3])
    return skeleton.look_direction(character, head_position(rig), head_position(partner))
