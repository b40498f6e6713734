"""The batch under bad input: audio replaced at the same path is redone (inputs compared by
content), concurrent batches share the work through per-dialogue locks, every bad manifest
row is listed at once, a UTF-16 manifest is read and undecodable text names the file, a
truncated WAV is a warning in the report."""
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

import pytest  # noqa: E402

pytest.importorskip("bpy")

from helpers import write_speech_pair  # noqa: E402
from timar_blender.batch import manifest as batch_manifest  # noqa: E402
from timar_blender.batch.lock import DialogueLock  # noqa: E402
from timar_blender.errors import ManifestError  # noqa: E402


def run_batch(*args, wait=True):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "timar_blender.batch", *map(str, args)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    if not wait:
        return proc
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out + err


def report(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}_report.json").read_text())


def test_audio_replaced_at_the_same_path_is_redone(tmp_path, tiny_checkpoint):
    a, b = write_speech_pair(tmp_path, 2.0)
    out = tmp_path / "out"
    common = ["--audio-a", a, "--audio-b", b, "--name", "talk", "--out", out,
              "--checkpoint", tiny_checkpoint, "--steps", "1", "--context-turns", "1"]
    code, log = run_batch(*common)
    assert code == 0, log
    assert report(out, "talk")["audio_seconds"] == pytest.approx(2.0)
    code, log = run_batch(*common)
    assert code == 0 and "outputs complete" in log                 # unchanged: skipped
    (tmp_path / "new").mkdir()
    longer = write_speech_pair(tmp_path / "new", 4.0, seed=9)
    for old, new in zip((a, b), longer):
        os.replace(new, old)                                     # same paths, new content
    code, log = run_batch(*common)
    assert code == 0 and "inputs settings changed" in log, log
    assert report(out, "talk")["audio_seconds"] == pytest.approx(4.0)


def test_a_dialogue_locked_by_another_batch_is_left_to_it(tmp_path, tiny_checkpoint):
    a, b = write_speech_pair(tmp_path, 2.0)
    out = tmp_path / "out"
    out.mkdir()
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"audio_a,audio_b,name\n{a},{b},one\n{a},{b},two\n")
    with DialogueLock(out, "one") as held:        # another batch is making 'one'
        assert held.acquired
        with DialogueLock(out, "one") as second:
            assert not second.acquired and str(os.getpid()) in second.holder()
        code, log = run_batch("--manifest", manifest, "--out", out, "--checkpoint",
                              tiny_checkpoint, "--steps", "1", "--context-turns", "1")
    assert code == 0, log
    assert "being made by" in log
    assert not (out / "one_report.json").exists() and report(out, "two")["status"] == "ok"


def test_two_batches_started_together_share_the_work(tmp_path, tiny_checkpoint):
    a, b = write_speech_pair(tmp_path, 4.0)
    out = tmp_path / "out"
    names = [f"d{i}" for i in range(4)]
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio_a,audio_b,name\n" + "".join(f"{a},{b},{n}\n" for n in names))
    args = ("--manifest", manifest, "--out", out, "--checkpoint", tiny_checkpoint,
            "--steps", "1", "--context-turns", "1")
    procs = [run_batch(*args, wait=False) for _ in range(2)]
    logs = [p.communicate(timeout=900) for p in procs]
    assert all(p.returncode == 0 for p in procs), logs
    generated = sum((out_ + err).count("to do: not done yet") for out_, err in logs)
    assert generated == len(names), logs            # each dialogue made exactly once
    assert all(report(out, n)["status"] == "ok" for n in names)
    assert not list(out.glob(".*.partial*"))


def test_all_bad_manifest_rows_are_listed_at_once(tmp_path):
    (tmp_path / "m.csv").write_text("audio_a,audio_b,template\n"
                                    "a.wav,b.wav,\n"
                                    "a.wav,,\n"                   # line 3: no audio_b
                                    "c.wav,d.wav,\n"
                                    "e.wav,f.wav,t.blend\n")       # line 5: no heads
    with pytest.raises(ManifestError) as info:
        batch_manifest.load_manifest(tmp_path / "m.csv")
    text = str(info.value)
    assert "2 of 4 dialogues cannot be used" in text and "m.csv" in text
    assert "line 3: 'audio_b' is empty" in text and "line 5: a template needs head_a" in text
    assert "line 2" not in text and "line 4" not in text


def test_utf16_manifest_is_read_and_undecodable_text_names_the_file(tmp_path):
    text = "audio_a,audio_b,name\nä.wav,b.wav,ünï\n"
    (tmp_path / "m16.csv").write_bytes(text.encode("utf-16"))
    [d] = batch_manifest.load_manifest(tmp_path / "m16.csv")
    assert d.audio_a.endswith("ä.wav") and d.name == "n"         # safe_name keeps ASCII
    (tmp_path / "latin.csv").write_bytes(text.encode("latin-1"))
    with pytest.raises(ManifestError, match="latin.csv: not UTF-8 or UTF-16 text"):
        batch_manifest.load_manifest(tmp_path / "latin.csv")


def test_truncated_wav_is_a_warning_in_the_report(tmp_path, tiny_checkpoint):
    a, b = write_speech_pair(tmp_path, 3.0)
    data = Path(b).read_bytes()
    Path(b).write_bytes(data[:len(data) - 16000])
    out = tmp_path / "out"
    code, log = run_batch("--audio-a", a, "--audio-b", b, "--name", "cut", "--out", out,
                          "--checkpoint", tiny_checkpoint, "--steps", "1", "--context-turns", "1")
    assert code == 0, log
    rep = report(out, "cut")
    assert rep["status"] == "ok" and any("ends early" in w and "audio_b" in w for w in rep["warnings"])
