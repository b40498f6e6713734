# SPDX-License-Identifier: GPL-3.0-or-later
"""A head object checked against a rig preset: the mesh and armature behind it, and the
preset's targets it really has (``RigTargets``), or a RigError listing what is missing."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import RigError
from .preset import Preset
from .targets import RigTargets, select_targets


@dataclass
class HeadRig:
    """The parts of a head a preset drives. The head is what the user picked."""
    head: object                    # bpy.types.Object
    mesh: object | None
    armature: object | None
    targets: RigTargets             # everything the preset drives on this head


def shape_key_names(obj) -> set[str]:
    key = obj.data.shape_keys if obj and obj.type == 'MESH' else None
    return set(key.key_blocks.keys()) if key else set()


def describe_missing(names: list[str], what: str, limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{what} {shown}{more}"


def resolve_head(head, preset: Preset) -> HeadRig:
    """Find the mesh and armature behind ``head`` and check them against the preset."""
    if head is None:
        raise RigError("no head object chosen")
    mesh = armature = None
    if head.type == 'ARMATURE':
        armature = head
        meshes = [c for c in head.children_recursive if c.type == 'MESH' and c.data.shape_keys]
        wanted = set(preset.required_shape_keys())
        if meshes:
            mesh = max(meshes, key=lambda m: len(wanted & shape_key_names(m)))
    elif head.type == 'MESH':
        mesh = head
        if head.parent and head.parent.type == 'ARMATURE':
            armature = head.parent
        else:
            mods = [m for m in head.modifiers if m.type == 'ARMATURE' and m.object]
            armature = mods[0].object if mods else None
    else:
        raise RigError(f"{head.name}: a head must be a mesh with shape keys, an armature, "
                       f"or a mesh parented to an armature (got a {head.type.lower()})")
    missing = []
    keys = shape_key_names(mesh)
    need_keys = [n for n in preset.required_shape_keys() if n not in keys]
    if need_keys:
        missing.append(describe_missing(need_keys, "shape keys"))
    bones = set(armature.data.bones.keys()) if armature else set()
    need_bones = [n for n in preset.required_bones() if n not in bones]
    if need_bones:
        missing.append(describe_missing(need_bones, "bones"))
    if missing:
        raise RigError(f"{head.name} does not fit the {preset.name} preset: missing "
                       + "; ".join(missing))
    return HeadRig(head, mesh, armature, select_targets(preset, keys, bones))
