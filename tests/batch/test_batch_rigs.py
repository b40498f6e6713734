# SPDX-License-Identifier: GPL-3.0-or-later
"""The batch on characters animators have (issue 18): a template with a Ready Player
Me-like avatar picked by its armature and another picked by its teeth mesh, the arkit
preset, per-head dials; the report says per head what was keyed and what the rig lacks,
and a head without neck/head bones makes the status "warning" (not a silent "ok")."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="timar_bl_"))
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

bpy = pytest.importorskip("bpy")
sf = pytest.importorskip("soundfile")

from rig_builders import ready_player_me_like  # noqa: E402


def _tone(path: Path, seconds: float, freq: float) -> str:
    t = np.arange(int(seconds * 16000)) / 16000
    on = np.sin(2 * np.pi * 3.0 * t) > 0
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t) * on).astype(np.float32), 16000)
    return str(path)


@pytest.fixture
def avatars(tmp_path):
    """Two avatars facing each other; B's skeleton has no neck or head bone."""
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.scene.render.fps = 25
    a_arm, _ = ready_player_me_like("A_", location=(0, -0.6, 0))
    b_arm, _ = ready_player_me_like("B_", location=(0, 0.6, 0), rotation=(0, 0, np.pi))
    b_arm.data.bones["Neck"].name = "spine_upper"      # a skeleton without neck or head
    b_arm.data.bones["Head"].name = "skull_top"
    path = tmp_path / "avatars.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    return path


def test_batch_reports_what_each_head_drives_and_warns(tmp_path, avatars, tiny_checkpoint):
    a, b = _tone(tmp_path / "x_speaker1.wav", 1.0, 220), _tone(tmp_path / "x_speaker2.wav", 1.0, 330)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-m", "timar_blender.batch", "--audio-a", a, "--audio-b", b,
         "--template", str(avatars), "--head-a", "A_Armature", "--head-b", "B_Wolf3D_Teeth",
         "--preset", "arkit", "--dials-a", "jaw=0.5,eyes=0", "--dials-b", "head=0",
         "--out", str(out), "--checkpoint", str(tiny_checkpoint)],
        capture_output=True, text=True, timeout=900, cwd=REPO, env=env)
    print(proc.stdout[-3000:], proc.stderr[-3000:])
    assert proc.returncode == 0, proc.stderr          # a warning is not a failure
    r = json.loads((out / "x_report.json").read_text())
    assert r["status"] == "warning" and "[x] WARNING" in proc.stdout
    assert "head motion not keyed" in proc.stdout          # said on the progress line too
    assert "B_Wolf3D_Teeth: head motion not keyed" in r["message"]
    ra, rb = r["rig"]["A"], r["rig"]["B"]
    assert ra["face_mesh"] == "A_Wolf3D_Head" and rb["face_mesh"] == "B_Wolf3D_Head"
    assert set(ra["meshes"]) == {"A_Wolf3D_Head", "A_Wolf3D_Teeth", "A_EyeLeft", "A_EyeRight"}
    assert ra["channels"]["ARKit"] == {"keyed": 52, "of": 52, "missing": []}
    assert ra["bones"]["head_motion"] == ["Neck", "Head"]
    assert ra["warnings"] == [] and not rb["head_motion"]
    assert ra["dials"] == {"jaw": 0.5, "lips": 1.0, "expression": 1.0, "head": 1.0, "eyes": 0.0}
    assert rb["dials"]["head"] == 0.0
    assert "52 of 52 ARKit channels" in ra["summary"]
    # a re-run keeps the warned dialogue (it cannot get better by itself)
    again = subprocess.run(proc.args, capture_output=True, text=True, timeout=600, cwd=REPO, env=env)
    assert again.returncode == 0 and "SKIPPED" in again.stdout
