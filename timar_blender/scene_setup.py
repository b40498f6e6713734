# SPDX-License-Identifier: GPL-3.0-or-later
"""Scene helpers shared by the panel and batch scripts: the demo stage (two heads facing
each other, a camera, lights) and the dialogue audio in the sequencer."""
from __future__ import annotations

import math
import os

import bpy
from mathutils import Vector

from . import sequencer
from .demo_head import build_demo_head
from .errors import SceneSetupError

DEMO_COLLECTION = "TIMAR demo"
DEMO_WORLD = "TIMAR demo world"
HEAD_SPACING = 0.36     # metres between the heads' centres
HEAD_TURN = math.radians(35)    # each head turned from profile toward the camera
# (name, palette): A on the left, B on the right, told apart by skin, hair and shirt
HEADS = (("TIMAR A", {"Skin": (0.80, 0.56, 0.44), "Hair": (0.20, 0.085, 0.03),
                      "Brow": (0.07, 0.03, 0.012),
                      "Shirt": (0.06, 0.20, 0.52), "Iris": (0.05, 0.16, 0.22)}),
         ("TIMAR B", {"Skin": (0.46, 0.27, 0.17), "Lip": (0.36, 0.14, 0.12),
                      "Hair": (0.02, 0.015, 0.012), "Shirt": (0.62, 0.24, 0.05)}))
AIM = (0.0, 0.0, 1.58)  # the camera and lights aim between the faces, just below the eyes
# name: energy (W), size (m), location
LIGHTS = (("TIMAR key light", 90.0, 1.0, (-0.9, -1.2, 2.3)),
          ("TIMAR fill light", 35.0, 1.5, (1.2, -1.0, 1.7)),
          ("TIMAR rim light", 70.0, 0.8, (0.0, 1.0, 2.1)))


def _aim(obj, target):
    """Point a camera or light (which look along their -Z) at ``target``."""
    direction = Vector(target) - Vector(obj.location)
    obj.rotation_euler = direction.to_track_quat('-Z', 'Y').to_euler()


def _demo_world():
    """A dim blue-grey backdrop, darker below the horizon: soft ambient light too."""
    world = bpy.data.worlds.get(DEMO_WORLD)
    if world is not None:
        return world
    world = bpy.data.worlds.new(DEMO_WORLD)
    world.color = (0.05, 0.052, 0.058)
    if bpy.app.version < (5, 0, 0):
        world.use_nodes = True      # always on from 5.0
    nodes, links = world.node_tree.nodes, world.node_tree.links
    bg = nodes.get("Background") or nodes.new("ShaderNodeBackground")
    coord = nodes.new("ShaderNodeTexCoord")
    xyz = nodes.new("ShaderNodeSeparateXYZ")
    span = nodes.new("ShaderNodeMapRange")
    span.inputs["From Min"].default_value = -0.35
    span.inputs["From Max"].default_value = 0.45
    ramp = nodes.new("ShaderNodeValToRGB")
    low, high = ramp.color_ramp.elements
    low.color, high.color = (0.012, 0.013, 0.016, 1.0), (0.11, 0.115, 0.13, 1.0)
    links.new(coord.outputs["Generated"], xyz.inputs[0])
    links.new(xyz.outputs["Z"], span.inputs["Value"])
    links.new(span.outputs["Result"], ramp.inputs["Fac"])
    links.new(ramp.outputs["Color"], bg.inputs["Color"])
    bg.inputs["Strength"].default_value = 1.0
    return world


def add_demo_heads(scene):
    """Add two demo heads in conversation, a camera, lights and (for a scene without one) a
    world; returns (head_a, head_b).

    The heads face each other, each turned toward the camera into a three-quarter view.
    They are meshes named "TIMAR A" / "TIMAR B" (or with a numeric suffix) parented to
    armatures "... rig" with bones neck, jaw, eye_L, eye_R; use the "timar_demo" preset."""
    coll = bpy.data.collections.new(DEMO_COLLECTION)
    scene.collection.children.link(coll)
    view_layer = bpy.context.view_layer if bpy.context.scene == scene else scene.view_layers[0]
    heads = []
    for (name, palette), side in zip(HEADS, (-1, 1)):
        mesh_obj, rig = build_demo_head(name, coll, view_layer, palette)
        rig.location = (side * HEAD_SPACING / 2, 0.0, 1.45)
        rig.rotation_euler = (0.0, 0.0, -side * (math.pi / 2 - HEAD_TURN))
        heads.append(mesh_obj)
    cam_data = bpy.data.cameras.new("TIMAR camera")
    cam_data.lens = 50
    cam = bpy.data.objects.new("TIMAR camera", cam_data)
    cam.location = (0.0, -1.12, 1.68)
    _aim(cam, AIM)
    coll.objects.link(cam)
    if scene.camera is None:
        scene.camera = cam
    for name, energy, size, loc in LIGHTS:
        light = bpy.data.lights.new(name, 'AREA')
        light.energy, light.size = energy, size
        obj = bpy.data.objects.new(name, light)
        obj.location = loc
        _aim(obj, AIM)
        coll.objects.link(obj)
    if scene.world is None:
        scene.world = _demo_world()
    return heads[0], heads[1]


PAN = {"A": -0.3, "B": 0.3}   # speaker A a little to the left, B to the right


def _set_pan(strip, pan):
    """Pan a sound strip (-1 left .. 1 right; Blender applies it to mono sources only)."""
    try:
        strip.pan = pan
    except (AttributeError, TypeError):
        pass


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
    strips = sequencer.strips(se)
    channel = max((s.channel for s in strips), default=0) + 1
    made = []
    try:
        for i, (label, p) in enumerate(zip("AB", (path_a, path_b))):
            if p:
                strip = strips.new_sound(f"TIMAR {label}", bpy.path.abspath(p),
                                         channel + i, int(start_frame))
                made.append(strip)
                _set_pan(strip, PAN[label])
    except RuntimeError as exc:
        for s in made:
            strips.remove(s)
        if created_editor:
            scene.sequence_editor_clear()
        raise SceneSetupError(f"cannot add the audio: {exc}") from None
    scene.sync_mode = 'AUDIO_SYNC'
    end = max(sequencer.visible_end(s) for s in made)
    if scene.frame_end < end - 1:
        scene.frame_end = end - 1
    return made
