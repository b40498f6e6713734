"""``python -m model_core generate --live-link-csv`` and a Live Link Face take as --motion-b:
the CSVs appear with the npz files, say what the npz says, and a take keys a head."""
from __future__ import annotations

import numpy as np
import pytest

from model_core import cli as cli_module
from model_core.constants import JAW, NECK
from model_core.face.channels import ARKIT_DIM, ARKIT_INDEX, face_from_flame, jaw_rad_from_open
from model_core.face.flame import load_motion_npz
from model_core.face.head_angles import neck_to_yaw_pitch_roll
from model_core.face.livelink import read_livelink_csv, write_livelink_csv
from model_core.face.livelink_motion import take_from_head

PRECISION = 5e-7


def run(audio, out, checkpoint, *extra) -> int:
    return cli_module.main(["generate", "--audio-a", audio[0], "--audio-b", audio[1],
                            "--out-dir", str(out), "--name", "talk", "--checkpoint",
                            str(checkpoint), "--steps", "2", *map(str, extra)])


def test_generate_writes_a_live_link_take_per_head(audio_pair, tiny_checkpoint, tmp_path,
                                                  one_torch_thread, capsys):
    out = tmp_path / "out"
    assert run(audio_pair, out, tiny_checkpoint, "--live-link-csv") == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "talk_speaker1.npz", "talk_speaker1_livelink.csv", "talk_speaker2.npz",
        "talk_speaker2_livelink.csv"]
    assert "talk_speaker1_livelink.csv" in capsys.readouterr().err
    for speaker in (1, 2):
        motion = load_motion_npz(out / f"talk_speaker{speaker}.npz")
        take = read_livelink_csv(out / f"talk_speaker{speaker}_livelink.csv")
        assert take.fps == 25 and len(take.times) == len(motion) == 75     # 3 s at 25 fps
        assert np.abs(take.head - neck_to_yaw_pitch_roll(motion[:, NECK])).max() < PRECISION
        assert np.abs(take.head).max() > 1e-3           # the generated neck moves
        # No mouth head in the tiny model: the curves are what the FLAME jaw implies.
        assert np.abs(take.arkit - face_from_flame(motion)[:, :ARKIT_DIM]).max() < PRECISION


def test_without_the_flag_no_csv_is_written(audio_pair, tiny_checkpoint, tmp_path,
                                            one_torch_thread):
    assert run(audio_pair, tmp_path, tiny_checkpoint) == 0
    assert not list(tmp_path.glob("*.csv"))


def test_a_take_is_given_motion(audio_pair, tiny_checkpoint, tmp_path, one_torch_thread):
    frames = 75
    motion = np.zeros((frames, 56), np.float32)
    motion[:, NECK.start + 1] = 0.3 * np.sin(np.arange(frames) / 8)         # shaking the head
    face = face_from_flame(motion)
    face[:, ARKIT_INDEX["jawOpen"]] = np.linspace(0, 0.9, frames)
    take_path = tmp_path / "listener.csv"
    write_livelink_csv(take_path, take_from_head(motion, face))
    out = tmp_path / "out"
    assert run(audio_pair, out, tiny_checkpoint, "--motion-b", take_path) == 0
    given = load_motion_npz(out / "talk_speaker2.npz")
    assert np.abs(given[:, NECK] - motion[:, NECK]).max() < 1e-5
    assert np.abs(given[:, JAW.start] - jaw_rad_from_open(face[:, ARKIT_INDEX["jawOpen"]])).max() < 1e-5
    assert np.abs(given[:, :50]).max() == 0.0


@pytest.mark.parametrize("text,expected", [
    ("Timecode,JawOpen\n00:00:00:00.000,0.1\n00:00:00:01.000,x\n", "line 3: JawOpen is 'x'"),
    ("hello\n", "no Timecode column"),
])
def test_a_broken_take_is_one_line_and_no_output(text, expected, audio_pair, tiny_checkpoint,
                                                  tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    out = tmp_path / "out"
    assert run(audio_pair, out, tiny_checkpoint, "--motion-b", bad, "--live-link-csv") == 2
    lines = [ln for ln in capsys.readouterr().err.strip().splitlines() if not ln.startswith("turn ")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert not out.exists() or not any(out.iterdir())
