# SPDX-License-Identifier: GPL-3.0-or-later
"""The batch's Live Link Face CSV: ``--live-link-csv`` writes one take per head beside the
.blend (listed in the report, required for a re-run to count as complete), and a take given
as ``--motion-b`` is keyed onto head B as it is. A fresh process, the real tiny checkpoint."""
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

from helpers import write_speech_pair  # noqa: E402
from model_core.constants import NECK  # noqa: E402
from model_core.face.channels import face_from_flame  # noqa: E402
from model_core.face.head_angles import neck_to_yaw_pitch_roll  # noqa: E402
from model_core.face.livelink import read_livelink_csv, write_livelink_csv  # noqa: E402
from model_core.face.livelink_motion import take_from_head  # noqa: E402
from timar_blender.batch import manifest as batch_manifest, outputs as batch_outputs  # noqa: E402
from timar_blender.batch.settings import BatchSettings  # noqa: E402


def batch(*args, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "timar_blender.batch", *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    print(proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


def test_completion_wants_the_takes_when_asked(tmp_path):
    d = batch_manifest.DialogueSpec("talk", "a.wav", "b.wav")
    out = batch_outputs.Outputs(tmp_path, "talk")
    plain = BatchSettings(out=tmp_path, checkpoint=str(tmp_path / "ck.pt"))
    with_csv = BatchSettings(out=tmp_path, checkpoint=str(tmp_path / "ck.pt"), live_link_csv=True)
    batch_outputs.write_json(out.report, {"status": "ok", "settings": plain.describe(d)})
    out.blend.write_bytes(b"BLENDER")
    assert batch_outputs.completion(out, plain.describe(d), False) is None
    assert "no Live Link Face CSV" in batch_outputs.completion(out, with_csv.describe(d), False)
    batch_outputs.write_json(out.report, {"status": "ok", "settings": with_csv.describe(d)})
    out.live_link("A").write_text("Timecode\n")
    assert "talk_speaker2_livelink.csv is missing" in \
        batch_outputs.completion(out, with_csv.describe(d), False)
    out.live_link("B").write_text("Timecode\n")
    assert batch_outputs.completion(out, with_csv.describe(d), False) is None
    assert out.live_link("A").name == "talk_speaker1_livelink.csv"


def test_batch_writes_takes_and_keys_a_given_take(tmp_path, tiny_checkpoint):
    audio = write_speech_pair(tmp_path, 2.0)
    frames = 50
    motion = np.zeros((frames, 56), np.float32)
    motion[:, NECK.start] = 0.2 * np.sin(np.arange(frames) / 6)              # nodding
    listener = tmp_path / "listener.csv"
    write_livelink_csv(listener, take_from_head(motion))
    out = tmp_path / "out"
    proc = batch("--audio-a", audio[0], "--audio-b", audio[1], "--name", "talk",
                 "--motion-b", listener, "--live-link-csv", "--out", out,
                 "--checkpoint", tiny_checkpoint, "--steps", "2", "--context-turns", "1",
                 "--device", "cpu", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "talk_report.json").read_text())
    assert report["status"] == "ok"
    assert report["outputs"]["live_link_csv"] == ["talk_speaker1_livelink.csv",
                                                  "talk_speaker2_livelink.csv"]
    a = read_livelink_csv(out / "talk_speaker1_livelink.csv")
    b = read_livelink_csv(out / "talk_speaker2_livelink.csv")
    assert len(a.times) == len(b.times) == frames and a.fps == b.fps == 25
    assert np.abs(a.head).max() > 1e-3                   # head A was generated and moves
    # Head B is the given take, through the batch and back out unchanged.
    assert np.abs(b.head - neck_to_yaw_pitch_roll(motion[:, NECK])).max() < 1e-5
    assert np.abs(b.arkit - face_from_flame(motion)[:, :52]).max() < 1e-5
    assert not [p.name for p in out.iterdir() if ".partial" in p.name]
    # A re-run with the same options finds the dialogue complete.
    again = batch("--audio-a", audio[0], "--audio-b", audio[1], "--name", "talk",
                  "--motion-b", listener, "--live-link-csv", "--out", out,
                  "--checkpoint", tiny_checkpoint, "--steps", "2", "--context-turns", "1",
                  "--device", "cpu", cwd=tmp_path)
    assert again.returncode == 0 and "complete" in (again.stdout + again.stderr).lower()
