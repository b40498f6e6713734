# SPDX-License-Identifier: GPL-3.0-or-later
"""The add-on's pure helpers import, and work, in a Python where Blender cannot be imported:
a fresh interpreter whose ``bpy``, ``bmesh`` and ``mathutils`` imports fail. Registering
the add-on is what needs Blender (``register()`` imports bpy), not importing the package."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

BLOCK_BLENDER = """
import sys
class NoBlender:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('bpy', 'bmesh', 'mathutils', 'bl_pkg'):
            raise ImportError(name + ' is blocked: this process has no Blender')
sys.meta_path.insert(0, NoBlender())
sys.path.insert(0, REPO)
"""

PURE = ("timar_blender", "timar_blender.core", "timar_blender.errors",
        "timar_blender.messages", "timar_blender.generation", "timar_blender.torch_plan",
        "timar_blender.torch_check", "timar_blender.rig", "timar_blender.rig.motion",
        "timar_blender.rig.preset", "timar_blender.rig.targets", "timar_blender.rig.channels",
        "timar_blender.rig.names", "timar_blender.rig.dials", "timar_blender.rig.skeleton",
        "timar_blender.rig.gaze", "timar_blender.rig.report", "timar_blender.batch",
        "timar_blender.batch.manifest", "timar_blender.batch.progress",
        "timar_blender.batch.outputs", "timar_blender.batch.lock", "timar_blender.batch.mp4")


def run_without_blender(code: str) -> str:
    """Run ``code`` in a fresh interpreter that cannot import Blender; returns its stdout."""
    proc = subprocess.run([sys.executable, "-c", f"REPO = {str(REPO)!r}\n" + BLOCK_BLENDER + code],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_the_blocker_really_blocks_bpy():
    out = run_without_blender(
        "try:\n    import bpy\n    print('imported')\nexcept ImportError as e:\n    print('blocked')")
    assert out.strip() == "blocked"


def test_pure_helpers_import_without_blender():
    out = run_without_blender(
        "import importlib, json\n"
        f"for name in {PURE!r}:\n"
        "    importlib.import_module(name)\n"
        "ui = [m for m in ('timar_blender.prefs', 'timar_blender.ui', 'timar_blender.props',\n"
        "                  'timar_blender.ops_generate', 'timar_blender.ops_scene') if m in sys.modules]\n"
        "print(json.dumps({'bpy': 'bpy' in sys.modules, 'torch': 'torch' in sys.modules, 'ui': ui}))")
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen == {"bpy": False, "torch": False, "ui": []}


def test_a_preset_maps_motion_without_blender():
    """The whole pure half of the rig flow in that process: JSON -> targets -> values."""
    out = run_without_blender(
        "import numpy as np, json\n"
        "from timar_blender.rig import motion, preset, targets\n"
        "p = preset.get_preset('timar_demo')\n"
        "m = np.zeros((30, 56), np.float32); m[:, 50] = 0.175\n"
        "m = motion.resample(motion.prepare_motion(m), 50.0)\n"
        "v = targets.shape_values(p, m)\n"
        "print(json.dumps({'frames': len(m), 'mouth': round(float(v['jawOpen'][0]), 5)}))")
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen == {"frames": 59, "mouth": 0.5}   # 29 model frames at 50 fps + 1; 0.175 rad = half open
