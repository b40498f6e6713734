# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the bulk keyframe writer (keyframe_points.add + foreach_set) against
per-frame ``keyframe_insert``, on a demo head. Not a test; prints figures.

    .venv/bin/python tests/bench/bench_keyframes.py [--seconds 60]
    .venv42/bin/python tests/bench/bench_keyframes.py
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if "bpy" not in sys.modules:  # isolate prefs and extensions from the user's own
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="timar_bench_")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import bpy  # noqa: E402

from timar_blender import scene_setup  # noqa: E402
from timar_blender.rig import fcurves, motion as flame_motion, preset as rig_preset  # noqa: E402,F401
from timar_blender.rig import take as rig_take, targets as rig_targets  # noqa: E402,F401
from timar_blender.rig.head import resolve_head  # noqa: E402,F401
from timar_blender.testing import synthetic_motion  # noqa: E402


def per_frame_insert(head, preset, motion, start):
    """The naive way: set each value and call keyframe_insert, frame by frame."""
    rig = resolve_head(head, preset)
    m = flame_motion.prepare_motion(motion)
    shapes, bones = rig_targets.shape_values(preset, m), rig_targets.bone_quaternions(preset, m)
    key = rig.mesh.data.shape_keys
    key.animation_data_create()
    rig.armature.animation_data_create()
    n = 0
    for f in range(len(m)):
        for name, v in shapes.items():
            kb = key.key_blocks[name]
            kb.value = float(v[f])
            kb.keyframe_insert("value", frame=start + f)
            n += 1
        for name, q in bones.items():
            pb = rig.armature.pose.bones[name]
            pb.rotation_mode = 'QUATERNION'
            pb.rotation_quaternion = q[f]
            pb.keyframe_insert("rotation_quaternion", frame=start + f)
            n += 4
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0, help="take length (25 fps)")
    args = ap.parse_args()
    frames = int(args.seconds * 25)
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.scene.render.fps = 25
    head_a, head_b = scene_setup.add_demo_heads(bpy.context.scene)
    preset = rig_preset.get_preset("timar_demo")
    motion = synthetic_motion(frames, 0)

    t = time.perf_counter()
    w = rig_take.write_take(head_a, motion, preset, 1, blinks=False)
    bulk = time.perf_counter() - t
    n_keys = frames * (len(w.shape_names) + 4 * len(w.bone_names))

    t = time.perf_counter()
    n_ins = per_frame_insert(head_b, preset, motion, 1)
    naive = time.perf_counter() - t
    assert n_ins == n_keys

    print(f"Blender {bpy.app.version_string}: {frames} frames x "
          f"{len(w.shape_names) + 4 * len(w.bone_names)} channels = {n_keys} keys")
    print(f"  bulk writer (write_take, incl. mapping): {bulk * 1e3:8.1f} ms  "
          f"{n_keys / bulk / 1e6:6.2f} M keys/s")
    print(f"  per-frame keyframe_insert:               {naive * 1e3:8.1f} ms  "
          f"{n_keys / naive / 1e3:6.1f} k keys/s")
    print(f"  speed-up: {naive / bulk:.0f}x")

    # Interactive generation rewrites the take as each 1 s turn arrives (main thread).
    rig = resolve_head(head_a, preset)
    writer = rig_take.TakeWriter(bpy.context.scene, rig, preset, 1)
    times = []
    for s in range(0, frames, 25):
        t = time.perf_counter()
        writer.append(motion[s:s + 25])
        times.append(time.perf_counter() - t)
    print(f"  turn-by-turn writing of the same take: {sum(times) * 1e3:.0f} ms for "
          f"{len(times)} turns; last turn {times[-1] * 1e3:.1f} ms on the main thread")
    bpy.ops.wm.read_homefile(use_empty=True)


if __name__ == "__main__":
    main()
