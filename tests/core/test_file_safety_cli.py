"""Issue 19, classes 1-3 on the command line: inputs are sacred (an output is compared with
every input by resolved path and by file identity before any work), only plain files of
ours inside the output folder are ever replaced (a link, folder or FIFO at an output name
is refused), and a run's files appear together or the earlier ones stay byte for byte."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import write_speech_pair
from model_core import cli as cli_module
from model_core import fileio, paths
from model_core.face.flame import write_motion_npz

REPO = Path(__file__).resolve().parents[2]


def snapshot(folder: Path) -> dict:
    """Every entry (hidden ones included) and what it is: bytes, a link's target, a folder."""
    out = {}
    for p in sorted(folder.iterdir()):
        out[p.name] = (("link", os.readlink(p)) if p.is_symlink() else
                       ("dir",) if p.is_dir() else
                       ("fifo",) if p.is_fifo() else p.read_bytes())
    return out


def run_cli(capsys, *args) -> tuple[int, str]:
    """model_core's main in this process (a traceback fails the test); (status, stderr)."""
    capsys.readouterr()
    code = cli_module.main([str(a) for a in args])
    return code, capsys.readouterr().err


def one_line(code: int, err: str) -> str:
    assert code == 2, err
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def motion(frames: int = 60, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.05, (frames, 56)).astype(np.float32)


@pytest.fixture
def dialogue(tmp_path):
    """A DualTalk-like folder: two WAVs, speaker 2's motion file."""
    folder = tmp_path / "D"
    folder.mkdir()
    a, b = write_speech_pair(folder, 2.0)
    a, b = Path(a).rename(folder / "talk_speaker1.wav"), Path(b).rename(folder / "talk_speaker2.wav")
    write_motion_npz(folder / "talk_speaker2.npz", motion(200))
    return folder


def generate(capsys, dialogue, checkpoint, out_dir, *extra):
    return run_cli(capsys, "generate", "--audio-a", dialogue / "talk_speaker1.wav",
                   "--audio-b", dialogue / "talk_speaker2.wav", "--out-dir", out_dir,
                   "--checkpoint", checkpoint, "--steps", "1", "--context-turns", "1", *extra)


# ----------------------------------------------------------------------- 1. inputs are sacred
def test_motion_input_at_an_output_name_is_refused_before_any_work(capsys, dialogue,
                                                                   tiny_checkpoint):
    """--motion-b D/talk_speaker2.npz --name talk --out-dir D once cut the input in place."""
    before = snapshot(dialogue)
    line = one_line(*generate(capsys, dialogue, tiny_checkpoint, dialogue,
                              "--name", "talk", "--motion-b", dialogue / "talk_speaker2.npz"))
    assert "would overwrite --motion-b" in line and "talk_speaker2.npz" in line
    assert "choose another --out-dir or --name" in line
    assert snapshot(dialogue) == before


@pytest.mark.parametrize("how", ["hard_link", "symlinked_folder", "dotdot"])
def test_the_same_input_under_another_name_is_found(capsys, dialogue, tiny_checkpoint,
                                                    tmp_path, how):
    """Same-file identity (st_dev/st_ino) and resolved paths, not the spelling."""
    given = dialogue / "talk_speaker2.npz"
    out = tmp_path / "out"
    if how == "hard_link":
        out.mkdir()
        os.link(given, out / "talk_speaker2.npz")          # another name, the same file
    elif how == "symlinked_folder":
        out.symlink_to(dialogue, target_is_directory=True)
    else:
        out = tmp_path / "elsewhere" / ".." / "D"
    before = given.read_bytes()
    line = one_line(*generate(capsys, dialogue, tiny_checkpoint, out, "--name", "talk",
                              "--motion-b", given))
    assert "would overwrite --motion-b" in line and str(given) in line
    assert given.read_bytes() == before


@pytest.mark.parametrize("option", ["--audio-a", "--checkpoint"])
def test_audio_and_checkpoint_are_inputs_too(capsys, dialogue, tiny_checkpoint, tmp_path, option):
    out = tmp_path / "out"
    out.mkdir()
    victim = dialogue / "talk_speaker1.wav" if option == "--audio-a" else Path(tiny_checkpoint)
    os.link(victim, out / "talk_speaker1.npz")
    before = victim.read_bytes()
    line = one_line(*generate(capsys, dialogue, tiny_checkpoint, out, "--name", "talk"))
    assert f"would overwrite {option}" in line
    assert victim.read_bytes() == before


def test_ground_truth_at_an_output_name_is_never_replaced(capsys, dialogue, tiny_checkpoint):
    """generate --audio-a D/ID_speaker1.wav --audio-b D/ID_speaker2.wav --out-dir D once
    replaced the real FLAME file D/ID_speaker2.npz (its shape/tex/cam/light dropped)."""
    truth = dialogue / "talk_speaker2.npz"
    np.savez(truth, exp=np.zeros((10, 50), np.float32), pose=np.zeros((10, 6), np.float32),
             shape=np.zeros((10, 100), np.float32), cam=np.zeros((10, 3), np.float32))
    before = snapshot(dialogue)
    line = one_line(*generate(capsys, dialogue, tiny_checkpoint, dialogue))
    assert "talk_speaker2.npz already exists and is not a TIMAR result" in line
    assert "cam, exp, pose, shape" in line and "never replaces a file it did not write" in line
    assert snapshot(dialogue) == before


def test_real_dualtalk_ground_truth_is_kept(capsys, demo_dir, tiny_checkpoint, tmp_path):
    """The real demo folder's layout (a copy in tmp: the shared one is read-only)."""
    from helpers import DEMO_ID
    folder = tmp_path / "demo"
    folder.mkdir()
    for suffix in ("_speaker1.wav", "_speaker2.wav", "_speaker2.npz"):
        (folder / f"{DEMO_ID}{suffix}").write_bytes((demo_dir / f"{DEMO_ID}{suffix}").read_bytes())
    before = snapshot(folder)
    line = one_line(*run_cli(capsys, "generate", "--audio-a", folder / f"{DEMO_ID}_speaker1.wav",
                             "--audio-b", folder / f"{DEMO_ID}_speaker2.wav", "--out-dir", folder,
                             "--checkpoint", tiny_checkpoint, "--steps", "1"))
    assert "is not a TIMAR result" in line and "light" in line
    assert snapshot(folder) == before


def test_an_earlier_result_is_replaced(capsys, dialogue, tiny_checkpoint, tmp_path):
    out = tmp_path / "out"
    assert generate(capsys, dialogue, tiny_checkpoint, out, "--name", "talk")[0] == 0
    first = snapshot(out)
    assert generate(capsys, dialogue, tiny_checkpoint, out, "--name", "talk", "--seed", "3")[0] == 0
    second = snapshot(out)
    assert sorted(second) == ["talk_speaker1.npz", "talk_speaker2.npz"] and second != first


def test_export_and_plot_never_write_their_input(capsys, tiny_checkpoint, tmp_path):
    before = Path(tiny_checkpoint).read_bytes()
    line = one_line(*run_cli(capsys, "export", tiny_checkpoint, tiny_checkpoint, "--half"))
    assert "would overwrite the checkpoint" in line
    assert Path(tiny_checkpoint).read_bytes() == before
    npz = tmp_path / "m.npz"
    write_motion_npz(npz, motion())
    before = npz.read_bytes()
    line = one_line(*run_cli(capsys, "plot", f"real={npz}", "--out", npz))
    assert "--out" in line and "would overwrite the motion real" in line
    assert npz.read_bytes() == before


# ----------------------------------------------------------------------- 2. only plain files of ours
@pytest.mark.parametrize("kind", ["symlink", "dangling_symlink", "folder", "fifo"])
def test_something_not_ours_at_an_output_name_is_refused(capsys, dialogue, tiny_checkpoint,
                                                         tmp_path, kind):
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    out.mkdir()
    target = out / "talk_speaker2.npz"
    if kind == "symlink":
        victim.write_text("precious")
        target.symlink_to(victim)
    elif kind == "dangling_symlink":
        target.symlink_to(tmp_path / "elsewhere.npz")
    elif kind == "folder":
        target.mkdir()
    else:
        os.mkfifo(target)
    before = snapshot(out)
    line = one_line(*generate(capsys, dialogue, tiny_checkpoint, out, "--name", "talk"))
    expect = {"symlink": "a symbolic link", "dangling_symlink": "a symbolic link",
              "folder": "a folder", "fifo": "a FIFO (named pipe)"}[kind]
    assert f"talk_speaker2.npz is {expect} where the output goes" in line
    assert snapshot(out) == before                     # nothing else written, no temporary
    assert not (tmp_path / "elsewhere.npz").exists()
    if kind == "symlink":
        assert victim.read_text() == "precious"


def test_a_folder_at_one_output_keeps_the_earlier_pair_whole(capsys, dialogue, tiny_checkpoint,
                                                             tmp_path):
    """With an earlier t_speaker1.npz and a folder named t_speaker2.npz, generate once
    replaced t_speaker1.npz and left a hidden temporary."""
    out = tmp_path / "out"
    out.mkdir()
    write_motion_npz(out / "t_speaker1.npz", motion(30))
    (out / "t_speaker2.npz").mkdir()
    before = snapshot(out)
    line = one_line(*generate(capsys, dialogue, tiny_checkpoint, out, "--name", "t"))
    assert "t_speaker2.npz is a folder" in line
    assert snapshot(out) == before


@pytest.mark.parametrize("kind", ["folder", "symlink"])
def test_export_and_plot_refuse_a_non_file_output(capsys, tiny_checkpoint, tmp_path, kind):
    victim = tmp_path / "victim.bin"
    victim.write_bytes(b"keep")
    npz = tmp_path / "m.npz"
    write_motion_npz(npz, motion())
    for command in (["export", tiny_checkpoint], ["plot", f"real={npz}", "--out"]):
        target = tmp_path / f"out_{command[0]}"
        target.mkdir() if kind == "folder" else target.symlink_to(victim)
        line = one_line(*run_cli(capsys, *command, target))
        assert f"is {'a folder' if kind == 'folder' else 'a symbolic link'}" in line
        assert victim.read_bytes() == b"keep"


def test_plot_into_a_missing_folder_is_made(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    npz = tmp_path / "m.npz"
    write_motion_npz(npz, motion())
    out = tmp_path / "missing" / "dir" / "x.png"
    code, err = run_cli(capsys, "plot", f"real={npz}", "--out", out)
    assert code == 0, err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in out.parent.iterdir()] == ["x.png"]


def test_open_plain_file_never_follows_or_writes_through(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "link").symlink_to(victim)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    os.link(victim, tmp_path / "hard")
    os.mkfifo(tmp_path / "fifo")
    flags = os.O_RDWR | os.O_CREAT
    for name, what in (("link", "a symbolic link"), ("dangling", "a symbolic link"),
                       ("hard", "2 hard links"), ("fifo", "a FIFO (named pipe)")):
        with pytest.raises(paths.UnsafeOutputError, match=re.escape(what)):
            fileio.open_plain_file(tmp_path / name, flags)
    assert victim.read_text() == "precious" and not (tmp_path / "nowhere").exists()
    os.close(fileio.open_plain_file(tmp_path / "new", flags))
    assert (tmp_path / "new").is_file()


# ----------------------------------------------------------------------- 3. together or not at all
def test_a_failing_rename_leaves_no_temporary(tmp_path, monkeypatch):
    """publish_together checks every final name first; should a rename still fail, the
    temporaries not yet renamed are removed."""
    finals = [tmp_path / "a.npz", tmp_path / "b.npz"]
    real_replace, calls = os.replace, []

    def replace_then_fail(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_fail)
    with pytest.raises(OSError):
        fileio.publish_together({f: (lambda tmp: Path(tmp).write_bytes(b"x")) for f in finals})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]


def test_refusals_are_one_line_without_traceback(dialogue, tiny_checkpoint, tmp_path):
    """The same refusal from a real process: exit 2, one line, before the model loads."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "talk_speaker1.npz").symlink_to(dialogue / "talk_speaker1.wav")
    result = subprocess.run(
        [sys.executable, "-m", "model_core", "generate", "--audio-a",
         str(dialogue / "talk_speaker1.wav"), "--audio-b", str(dialogue / "talk_speaker2.wav"),
         "--out-dir", str(out), "--name", "talk", "--checkpoint", str(tiny_checkpoint)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "would overwrite --audio-a" in lines[0], result.stderr
