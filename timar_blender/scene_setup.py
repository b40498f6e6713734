# SPDX-License-Identifier: GPL-3.0-or-later
"""Scene helpers shared by the panel and batch scripts: the demo stage (two heads facing
each other, a camera, lights) and the dialogue audio in the sequencer."""
from __future__ import annotations

import math
import os

import bpy

from .demo_head import build_demo_head

DEMO_COLLECTION = "TIMAR demo"
HEAD_SPACING = 0.32     # metres between the heads' centres


class SceneSetupError(ValueError):
    """A scene helper cannot do what was asked; the message says why."""


def add_demo_heads(scene):
    """Add two demo heads facing each other, a camera and lights; returns (head_a, head_b).

    The heads are meshes named "TIMAR A" / "TIMAR B" (or with a numeric suffix) parented to
    armatures "... rig" with bones neck, jaw, eye_L, eye_R; use the "timar_demo" preset."""
    coll = bpy.data.collections.new(DEMO_COLLECTION)
    scene.collection.children.link(coll)
    view_layer = bpy.context.view_layer if bpy.context.scene == scene else scene.view_layers[0]
    heads = []
    for name, x, angle in (("TIMAR A", -HEAD_SPACING / 2, math.pi / 2),
                           ("TIMAR B", HEAD_SPACING / 2, -math.pi / 2)):
        mesh_obj, rig = build_demo_head(name, coll, view_layer)
        rig.location = (x, 0.0, 1.45)
        rig.rotation_euler = (0.0, 0.0, angle)
        heads.append(mesh_obj)
    cam_data = bpy.data.cameras.new("TIMAR camera")
    cam_data.lens = 50
    cam = bpy.data.objects.new("TIMAR camera", cam_data)
    cam.location = (0.0, -1.15, 1.63)
    cam.rotation_euler = (math.radians(88), 0.0, 0.0)
    coll.objects.link(cam)
    if scene.camera is None:
        scene.camera = cam
    for name, kind, energy, loc, rot in (
            ("TIMAR key light", 'SUN', 3.0, (-1.0, -1.5, 2.5), (math.radians(50), 0, math.radians(-30))),
            ("TIMAR fill light", 'POINT', 40.0, (1.0, -1.0, 1.8), (0, 0, 0))):
        light = bpy.data.lights.new(name, kind)
        light.energy = energy
        obj = bpy.data.objects.new(name, light)
        obj.location, obj.rotation_euler = loc, rot
        coll.objects.link(obj)
    return heads[0], heads[1]


def _strips(se):
    return se.strips if hasattr(se, "strips") else se.sequences


def add_audio_to_sequencer(scene, path_a: str, path_b: str, start_frame: int = 1):
    """Add both speakers' audio as sound strips at ``start_frame``; returns the strips.

    Raises SceneSetupError for a missing file or a Blender built without audio."""
    paths = [p for p in (path_a, path_b) if p]
    if not paths:
        raise SceneSetupError("choose an audio file for speaker A or B first")
    for p in paths:
        if not os.path.isfile(bpy.path.abspath(p)):
            raise SceneSetupError(f"audio file not found: {p}")
    if not bpy.app.build_options.audaspace:
        raise SceneSetupError("this Blender build has no audio support (audaspace)")
    created_editor = scene.sequence_editor is None
    se = scene.sequence_editor or scene.sequence_editor_create()
    strips = _strips(se)
    channel = max((s.channel for s in strips), default=0) + 1
    made = []
    try:
        for i, (label, p) in enumerate(zip("AB", (path_a, path_b))):
            if p:
                made.append(strips.new_sound(f"TIMAR {label}", bpy.path.abspath(p),
                                             channel + i, int(start_frame)))
    except RuntimeError as exc:
        for s in made:
            strips.remove(s)
        if created_editor:
            scene.sequence_editor_clear()
        raise SceneSetupError(f"cannot add the audio: {exc}") from None
    scene.sync_mode = 'AUDIO_SYNC'
    end = max(s.frame_final_end for s in made)
    if scene.frame_end < end - 1:
        scene.frame_end = end - 1
    return made
