# SPDX-License-Identifier: GPL-3.0-or-later
"""Characters as animators have them, built in bpy for the rig tests (issue 18): armatures
with any bone names, rolls and up axis; meshes carrying shape keys of any spelling; a
Ready Player Me-like avatar (face, teeth and eyes with the ARKit and viseme keys)."""
from __future__ import annotations

import bpy

from model_core.face.channels import ARKIT_NAMES

RPM_VISEMES = [f"viseme_{v}" for v in ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn",
                                        "RR", "aa", "E", "I", "O", "U")]


def armature(name, bones, rotation=(0.0, 0.0, 0.0), location=(0.0, 0.0, 0.0)):
    """bones: {name: (head, tail, roll, parent)} in armature space."""
    arm = bpy.data.objects.new(name, bpy.data.armatures.new(name))
    bpy.context.scene.collection.objects.link(arm)
    arm.rotation_euler, arm.location = rotation, location
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode='EDIT')
    for bone, (head, tail, roll, _parent) in bones.items():
        eb = arm.data.edit_bones.new(bone)
        eb.head, eb.tail, eb.roll = head, tail, roll
    for bone, (_h, _t, _r, parent) in bones.items():
        if parent:
            arm.data.edit_bones[bone].parent = arm.data.edit_bones[parent]
    bpy.ops.object.mode_set(mode='OBJECT')
    return arm


def mesh(name, keys, parent=None, subdivisions=1, location=(0, 0, 1.6)):
    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=subdivisions, radius=0.1,
                                          location=location)
    obj = bpy.context.active_object
    obj.name = name
    obj.shape_key_add(name="Basis")
    for k in keys:
        obj.shape_key_add(name=k)
    if parent is not None:
        obj.parent = parent
    return obj


def ready_player_me_like(prefix="", location=(0.0, 0.0, 0.0), rotation=(0.0, 0.0, 0.0)):
    """Armature Neck/Head/LeftEye/RightEye; face, teeth and both eyes carry the ARKit and
    viseme keys (the eyes fewer vertices), as a Ready Player Me avatar does."""
    arm = armature(f"{prefix}Armature", {
        "Hips": ((0, 0, 0.9), (0, 0, 1.0), 0.0, None),
        "Neck": ((0, 0, 1.45), (0, 0, 1.55), 0.0, "Hips"),
        "Head": ((0, 0, 1.55), (0, 0, 1.75), 0.0, "Neck"),
        "LeftEye": ((0.03, -0.08, 1.63), (0.03, -0.08, 1.66), 0.0, "Head"),
        "RightEye": ((-0.03, -0.08, 1.63), (-0.03, -0.08, 1.66), 0.0, "Head")},
        rotation, location)
    keys = list(ARKIT_NAMES) + RPM_VISEMES
    parts = {"face": mesh(f"{prefix}Wolf3D_Head", keys, arm, 3),
             "teeth": mesh(f"{prefix}Wolf3D_Teeth", ["jawOpen", "mouthOpen", "tongueOut"]
                           + RPM_VISEMES, arm, 1),
             "eye_l": mesh(f"{prefix}EyeLeft", keys, arm, 1),
             "eye_r": mesh(f"{prefix}EyeRight", keys, arm, 1),
             "body": mesh(f"{prefix}Wolf3D_Body", [], arm, 2)}
    return arm, parts
