# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo head posed in each of its ARKit-named shape keys at 1.0, one labelled tile per
key, rendered with Workbench into one contact sheet (the figure
assets/figures/demo_head_arkit_keys.png). Not a test; look at the picture.

    .venv/bin/python tests/bench/demo_face_sheet.py [OUT.png] [--tile 220]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

if "bpy" not in sys.modules:  # isolate prefs and extensions from the user's own
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="timar_sheet_")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import bpy  # noqa: E402
import numpy as np  # noqa: E402
from mathutils import Vector  # noqa: E402

from timar_blender.batch.contact import compose  # noqa: E402
from timar_blender.demo_face import ARKIT_KEYS  # noqa: E402
from timar_blender.demo_head import build_demo_head  # noqa: E402

# tiles: (label, {key: value}); mouthClose is a corrective: shown over jawOpen
POSES = [("rest", {})] + [
    ("jawOpen + mouthClose", {"jawOpen": 1.0, "mouthClose": 1.0}) if k == "mouthClose"
    else (k, {k: 1.0}) for k in ARKIT_KEYS]
AIM = Vector((0.0, -0.09, 0.148))      # between the mouth and the eyes, on the face
CAMERA = Vector((0.075, -0.36, 0.165))  # a little to the head's left and above


def _flat(name, rgb):
    mat = bpy.data.materials.new(name)
    mat.diffuse_color = (*rgb, 1.0)
    return mat


def stage(tile: int):
    """An empty scene with one demo head, a camera on its face, Workbench."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    head, _rig = build_demo_head("Head", scene.collection, bpy.context.view_layer)
    cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    cam.data.lens = 50
    cam.location = CAMERA
    cam.rotation_euler = (AIM - CAMERA).to_track_quat('-Z', 'Y').to_euler()
    scene.collection.objects.link(cam)
    scene.camera = cam
    label = bpy.data.objects.new("label", bpy.data.curves.new("label", 'FONT'))
    label.data.size, label.data.align_x = 0.0085, 'CENTER'
    label.parent = cam
    label.location = (0.0, 0.046, -0.16)     # the top of the view (the hair), before the camera
    label.data.materials.append(_flat("label", (0.9, 0.9, 0.9)))
    scene.collection.objects.link(label)
    scene.render.engine = 'BLENDER_WORKBENCH'
    scene.view_settings.view_transform = 'Standard'     # the materials' colours as they are
    scene.render.resolution_x = scene.render.resolution_y = tile
    scene.render.resolution_percentage = 100
    shading = scene.display.shading
    shading.light, shading.color_type = 'STUDIO', 'MATERIAL'
    shading.show_shadows = False
    shading.show_cavity = True
    scene.render.image_settings.file_format = 'PNG'
    return scene, head, label


def save_small_png(rgb, path: str, scene) -> None:
    """(H, W, 3) values 0..1 as an 8-bit PNG, compressed hard (the figure is committed)."""
    h, w = rgb.shape[:2]
    img = bpy.data.images.new("sheet", w, h, alpha=False)
    rgba = np.ones((h, w, 4), dtype=np.float32)
    rgba[..., :3] = np.clip(rgb, 0.0, 1.0)
    img.pixels.foreach_set(rgba[::-1].ravel())
    settings = scene.render.image_settings
    settings.file_format, settings.color_mode, settings.compression = 'PNG', 'RGB', 100
    img.save_render(path, scene=scene)
    bpy.data.images.remove(img)


def render_sheet(out: str, tile: int) -> None:
    scene, head, label = stage(tile)
    blocks = head.data.shape_keys.key_blocks
    paths = []
    with tempfile.TemporaryDirectory(prefix="timar_sheet_") as tmp:
        for i, (name, values) in enumerate(POSES):
            for kb in blocks[1:]:
                kb.value = values.get(kb.name, 0.0)
            label.data.body = name
            scene.render.filepath = os.path.join(tmp, f"{i:02d}.png")
            bpy.ops.render.render(write_still=True)
            paths.append(scene.render.filepath)
        save_small_png(compose(paths, columns=9), out, scene)
    print(f"wrote {out} ({os.path.getsize(out) // 1024} KB, {len(paths)} tiles)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default=str(REPO / "assets/figures/demo_head_arkit_keys.png"))
    ap.add_argument("--tile", type=int, default=170, help="tile size in pixels")
    args = ap.parse_args()
    render_sheet(args.out, args.tile)
