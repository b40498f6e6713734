"""Issue 19, class 7 in the batch: no traceback reaches a user. --out that is a file, under a
file or read-only is one line before any work; a full disk while saving the .blend fails
that dialogue with a message; --contact-range outside the dialogue fails before the save;
an unexpected exception in one dialogue is one line naming its log, that dialogue fails, the
others are made, the summary is written and the status is 70."""
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="timar_bl_"))

import pytest  # noqa: E402

pytest.importorskip("bpy")

from batch_run import FAST, read_json, run_batch  # noqa: E402
from helpers import write_speech_pair  # noqa: E402
from model_core.last_resort import LOG_DIR_ENV  # noqa: E402
from timar_blender import batch  # noqa: E402
from timar_blender.batch import cli as batch_cli  # noqa: E402
from timar_blender.batch import dialogue as batch_dialogue  # noqa: E402


def mounted_tmpfs(path: Path, options: str) -> bool:
    """Mount a tmpfs at ``path`` (root only); False where this machine cannot."""
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                            capture_output=True)
    return result.returncode == 0


def unmount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True)


@pytest.mark.parametrize("case", ["a file", "under a file"])
def test_out_that_is_a_file_or_under_one_is_one_line(case, tmp_path):
    a, b = write_speech_pair(tmp_path, 1.0)
    (tmp_path / "f").write_text("keep me")
    out = tmp_path / "f" if case == "a file" else tmp_path / "f" / "sub"
    code, log = run_batch("--audio-a", a, "--audio-b", b, "--out", out, timeout=120)
    assert code == 2 and "Traceback" not in log, log
    assert len(log.strip().splitlines()) == 1 and "choose a folder" in log
    assert (tmp_path / "f").read_text() == "keep me"


def test_a_read_only_out_is_one_line(tmp_path):
    a, b = write_speech_pair(tmp_path, 1.0)
    ro = tmp_path / "ro"
    if not mounted_tmpfs(ro, "ro,size=1m"):
        pytest.skip("cannot mount a read-only tmpfs here (root needed; a chmod does not stop root)")
    try:
        code, log = run_batch("--audio-a", a, "--audio-b", b, "--out", ro, timeout=120)
    finally:
        unmount(ro)
    assert code == 2 and "Traceback" not in log and "Read-only file system" in log, log


def test_a_full_disk_while_saving_the_blend_fails_that_dialogue_with_a_message(
        tmp_path, tiny_checkpoint):
    a, b = write_speech_pair(tmp_path, 2.0)
    full = tmp_path / "full"
    if not mounted_tmpfs(full, "size=256k"):
        pytest.skip("cannot mount a small tmpfs here (root needed)")
    try:
        code, log = run_batch("--audio-a", a, "--audio-b", b, "--name", "talk", "--out", full,
                              "--checkpoint", tiny_checkpoint, *FAST, timeout=300)
        report = read_json(full / "talk_report.json")
        left = sorted(p.name for p in full.iterdir())
    finally:
        unmount(full)
    assert code == 1 and "Traceback" not in log, log
    assert report["status"] == "failed" and "traceback" not in report
    assert "cannot save talk.blend" in report["error"] and "free some space" in report["error"]
    assert "talk.blend" not in left and not [n for n in left if n.startswith(".talk.blend")]


def test_a_contact_range_outside_the_dialogue_fails_before_the_save(tmp_path, tiny_checkpoint):
    a, b = write_speech_pair(tmp_path, 2.0)
    out = tmp_path / "out"
    code, log = run_batch("--audio-a", a, "--audio-b", b, "--name", "talk", "--out", out,
                          "--checkpoint", tiny_checkpoint, *FAST, "--render",
                          "--contact-range", "900:950", timeout=300)
    assert code == 1 and "Traceback" not in log, log
    report = read_json(out / "talk_report.json")
    assert "--contact-range 900:950 lies outside the scene's frames 1-50" in report["error"]
    assert not (out / "talk.blend").exists()


def test_an_unexpected_exception_fails_only_its_dialogue(tmp_path, tiny_checkpoint, monkeypatch,
                                                         capsys):
    """A bug (injected: the rig preset lookup raises for one dialogue) in dialogue 'bug':
    one line naming the log, that dialogue fails, 'good' is made, status 70, a summary."""
    monkeypatch.setenv(LOG_DIR_ENV, str(tmp_path / "logs"))
    a, b = write_speech_pair(tmp_path, 2.0)
    (tmp_path / "m.csv").write_text(f"name,audio_a,audio_b\nbug,{a},{b}\ngood,{a},{b}\n")
    real = batch_dialogue._preset

    def sometimes_broken(dialogue, heads):
        if dialogue.name == "bug":
            raise ZeroDivisionError("injected bug")
        return real(dialogue, heads)
    monkeypatch.setattr(batch_dialogue, "_preset", sometimes_broken)
    out = tmp_path / "out"
    code = batch.main(["--manifest", str(tmp_path / "m.csv"), "--out", str(out),
                       "--checkpoint", str(tiny_checkpoint), *FAST])
    printed = capsys.readouterr()
    assert code == 70
    assert "Traceback" not in printed.out + printed.err
    bug = read_json(out / "bug_report.json")
    assert bug["status"] == "failed"
    assert bug["error"].startswith("internal error: ZeroDivisionError: injected bug; details in ")
    log = Path(bug["internal_error_log"])
    assert log.parent == tmp_path / "logs" and "Traceback" in log.read_text()
    assert read_json(out / "good_report.json")["status"] == "ok"
    summary = read_json(out / "batch_summary.json")
    assert (summary["ok"], summary["failed"]) == (1, 1)


def test_an_unexpected_exception_outside_any_dialogue_is_one_line_and_70(tmp_path, monkeypatch,
                                                                          capsys):
    monkeypatch.setenv(LOG_DIR_ENV, str(tmp_path / "logs"))
    a, b = write_speech_pair(tmp_path, 1.0)

    def broken(*_args):
        raise KeyError("injected")
    monkeypatch.setattr(batch_cli, "run_all", broken)
    code = batch.main(["--audio-a", a, "--audio-b", b, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 70 and len(err) == 1, err
    assert err[0].startswith("timar batch: internal error: KeyError: 'injected'; details in ")
