"""The command line under bad input: every case fails in one line before the model runs, or
keeps the earlier result; nothing is half written and no NaN is ever written as success."""
import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import write_speech_pair
from model_core import cli as cli_module
from model_core.face import flame as flame_module

REPO = Path(__file__).resolve().parents[2]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "model_core", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def one_error_line(result, after_progress: bool = False) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    if after_progress:       # the failure comes after the turns' progress lines
        lines = [line for line in lines if not line.startswith("turn ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def generate(audio, out_dir, checkpoint, *extra):
    return cli("generate", "--audio-a", audio[0], "--audio-b", audio[1], "--out-dir", out_dir,
               "--checkpoint", checkpoint, "--steps", "2", *extra)


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ----------------------------------------------------------------------------- disk full
def test_a_failed_second_write_keeps_the_earlier_result(audio_pair, tiny_checkpoint, tmp_path,
                                                        monkeypatch, capsys):
    """The second file's write fails with ENOSPC: both earlier files stay byte for byte."""
    out = tmp_path / "out"
    args = ["generate", "--audio-a", audio_pair[0], "--audio-b", audio_pair[1], "--out-dir",
            str(out), "--name", "talk", "--checkpoint", str(tiny_checkpoint), "--steps", "2"]
    assert cli_module.main(args) == 0
    before = snapshot(out)
    assert sorted(before) == ["talk_speaker1.npz", "talk_speaker2.npz"]

    real_write, calls = flame_module._write_npz, []

    def write_then_full(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(*a, **k)

    monkeypatch.setattr(flame_module, "_write_npz", write_then_full)
    capsys.readouterr()
    assert cli_module.main(args + ["--seed", "7"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "left as they were" in err
    assert len(calls) == 2
    assert snapshot(out) == before                      # no temporaries, old files intact


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_real_full_disk_keeps_the_earlier_result(tiny_checkpoint, tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=100k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        short = write_speech_pair(tmp_path, 3.0)
        assert generate(short, mount, tiny_checkpoint, "--name", "talk").returncode == 0
        before = snapshot(mount)
        longer_dir = tmp_path / "long"
        longer_dir.mkdir()
        longer = write_speech_pair(longer_dir, 9.0, seed=5)
        line = one_error_line(generate(longer, mount, tiny_checkpoint, "--name", "talk"), True)
        assert "No space left on device" in line and "free some space" in line
        assert snapshot(mount) == before
    finally:
        subprocess.run(["umount", str(mount)], check=False)


# ----------------------------------------------------------------------------- output folder
@pytest.mark.parametrize("case", ["under_a_file", "is_a_file", "read_only"])
def test_output_folder_problems_fail_before_the_first_turn(case, audio_pair, tiny_checkpoint,
                                                           tmp_path):
    file = tmp_path / "file.txt"
    file.write_text("x")
    if case == "under_a_file":
        out, expect = file / "out", "is under"
    elif case == "is_a_file":
        out, expect = file, "is a file"
    else:
        if os.geteuid() == 0:
            out, expect = Path("/proc/timar_out"), "cannot create"  # root ignores chmod
        else:
            out = tmp_path / "ro"
            out.mkdir()
            out.chmod(0o555)
            expect = "cannot write"
    line = one_error_line(generate(audio_pair, out, tiny_checkpoint))
    assert expect in line and "choose" in line
    assert "turn" not in line                          # refused before generating


def test_name_cannot_leave_the_output_folder(audio_pair, tiny_checkpoint, tmp_path):
    out = tmp_path / "deep" / "out"
    result = generate(audio_pair, out, tiny_checkpoint, "--name", "../escaped")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["escaped_speaker1.npz", "escaped_speaker2.npz"]
    assert not any((tmp_path / "deep").glob("*.npz"))
    assert "became 'escaped'" in result.stderr


# ----------------------------------------------------------------------------- options
@pytest.mark.parametrize("option, value, expect", [
    ("--temperature", "inf", "temperature must be"),
    ("--temperature", "nan", "temperature must be"),
    ("--temperature", "-1", "temperature must be"),
    ("--seed", str(2**63), "seed must be"),
    ("--seed", "-1", "seed must be"),
    ("--steps", "0", "steps must be"),
    ("--context-turns", "99", "context turns must be"),
])
def test_absurd_options_are_one_line(option, value, expect, audio_pair, tiny_checkpoint, tmp_path):
    out = tmp_path / "out"
    line = one_error_line(generate(audio_pair, out, tiny_checkpoint, option, value))
    assert expect in line
    assert not out.exists() or not any(out.iterdir())


def test_partner_motion_far_outside_flame_ranges_is_refused(audio_pair, tiny_checkpoint, tmp_path):
    np.savez(tmp_path / "huge.npz", exp=np.full((75, 50), 1e30, np.float32),
             pose=np.zeros((75, 6), np.float32))
    line = one_error_line(generate(audio_pair, tmp_path / "out", tiny_checkpoint,
                                   "--motion-b", tmp_path / "huge.npz"))
    assert "far outside FLAME's ranges" in line and "huge.npz" in line


def test_non_finite_model_output_is_never_written(audio_pair, tiny_checkpoint, tmp_path):
    """Weights that overflow (finite, but 1e38) make infinite motion: refused, no files."""
    payload = torch.load(tiny_checkpoint, weights_only=True)
    key = next(k for k in payload["state_dict"] if k.startswith("diffloss") and k.endswith("weight"))
    payload["state_dict"][key] = torch.full_like(payload["state_dict"][key].float(), 3e38)
    torch.save(payload, tmp_path / "overflow.pt")
    out = tmp_path / "out"
    line = one_error_line(generate(audio_pair, out, tmp_path / "overflow.pt"), True)
    assert "NaN or infinite motion" in line and "nothing was written" in line
    assert not any(out.iterdir())


def test_truncated_wav_warns_that_the_file_ends_early(tiny_checkpoint, tmp_path):
    a, b = write_speech_pair(tmp_path, 3.0)
    data = Path(a).read_bytes()
    Path(a).write_bytes(data[:len(data) // 2])          # header still says 3 s
    result = generate((a, b), tmp_path / "out", tiny_checkpoint)
    assert result.returncode == 0, result.stderr
    assert "ends early" in result.stderr and "speaker1.wav" in result.stderr
