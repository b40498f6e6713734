"""Issue 19, class 5 in the batch: never block, and bad rows never stop the good ones. Every
row of the manifest is checked before any work (regular files only: a FIFO or /dev/zero is
refused by os.stat, never opened or hashed; audio headers within limits); each bad row is
printed with its problem and fails in the summary while the good rows are made."""
from __future__ import annotations

import os
import tempfile
import time

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="timar_bl_"))

import pytest  # noqa: E402

pytest.importorskip("bpy")

from batch_run import FAST, read_json, run_batch  # noqa: E402
from helpers import write_speech_pair  # noqa: E402
from hostile_files import write_wav  # noqa: E402
from timar_blender.batch.settings import content_id  # noqa: E402


def test_a_manifest_with_hostile_rows_makes_the_good_ones_and_reports_every_bad_one(
        tmp_path, tiny_checkpoint):
    a, b = write_speech_pair(tmp_path, 2.0)
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    fast = write_wav(tmp_path / "fast.wav", 40_000_000)
    (tmp_path / "folder.blend").mkdir()
    rows = [("good", a, b, ""), ("fifo", fifo, b, ""), ("zero", a, "/dev/zero", ""),
            ("", a, "", ""), ("fast", fast, b, ""), ("folder", a, b, tmp_path / "folder.blend"),
            ("missing", tmp_path / "missing.wav", b, "")]
    lines = ["name,audio_a,audio_b,template,head_a,head_b"]
    lines += [f"{n},{x},{y},{t},{'A' if t else ''},{'B' if t else ''}" for n, x, y, t in rows]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    start = time.monotonic()
    code, log = run_batch("--manifest", tmp_path / "m.csv", "--out", out,
                          "--checkpoint", tiny_checkpoint, *FAST, timeout=300)
    assert time.monotonic() - start < 240
    assert code == 1 and "Traceback" not in log, log
    assert read_json(out / "good_report.json")["status"] == "ok"
    summary = read_json(out / "batch_summary.json")
    assert (summary["ok"], summary["failed"]) == (1, 6), summary
    errors = {d["name"]: d["error"] for d in summary["dialogues"]}
    assert "is a FIFO (named pipe), not a file" in errors["fifo"]
    assert "/dev/zero is a device, not a file" in errors["zero"]
    assert "'audio_b' is empty" in errors["line 5"]
    assert "40,000,000 samples per second" in errors["fast"]
    assert "folder.blend is a folder, not a file" in errors["folder"]
    assert "audio file not found" in errors["missing"]
    # every bad row was reported before the first dialogue started
    for name in ("fifo", "zero", "line 5", "fast", "folder", "missing"):
        assert log.index(f"{name}: cannot be made") < log.index("to do"), name


def test_a_fifo_checkpoint_is_refused_at_once(tmp_path):
    a, b = write_speech_pair(tmp_path, 1.0)
    fifo = tmp_path / "model.pt"
    os.mkfifo(fifo)
    code, log = run_batch("--audio-a", a, "--audio-b", b, "--out", tmp_path / "out",
                          "--checkpoint", fifo, timeout=120)
    assert code == 2 and "Traceback" not in log and "is a FIFO (named pipe)" in log, log


def test_hashing_never_opens_what_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    start = time.monotonic()
    assert content_id(str(fifo)).startswith("not a file")
    assert content_id("/dev/zero").startswith("not a file")
    assert content_id(str(tmp_path)).startswith("not a file")
    assert content_id(str(tmp_path / "nothing")).startswith("missing")
    assert time.monotonic() - start < 1.0
