"""The command line: generate on real and synthetic audio, bad input, bench."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
DEMO_ID = "UbjUDM1MiGE_sub_video_72"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "model_core", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def write_tone(path, seconds, freq, sr=22050, channels=1):
    t = np.arange(int(seconds * sr)) / sr
    wave = 0.3 * np.sin(2 * np.pi * freq * t) * (np.sin(2 * np.pi * 1.5 * t) > 0)
    sf.write(path, np.repeat(wave[:, None], channels, 1), sr)


def test_generate_on_real_dialogue_writes_dualtalk_npz(demo_dir, tiny_checkpoint, tmp_path):
    a = demo_dir / f"{DEMO_ID}_speaker1.wav"
    b = demo_dir / f"{DEMO_ID}_speaker2.wav"
    result = cli("generate", "--audio-a", a, "--audio-b", b, "--out-dir", tmp_path,
                 "--name", "demo", "--checkpoint", tiny_checkpoint, "--context-turns", "3")
    assert result.returncode == 0, result.stderr
    frames = round(sf.info(a).frames / sf.info(a).samplerate * 25)
    for spk in (1, 2):
        with np.load(tmp_path / f"demo_speaker{spk}.npz") as data:
            assert data["exp"].shape == (frames, 50) and data["exp"].dtype == np.float32
            assert data["pose"].shape == (frames, 6) and data["pose"].dtype == np.float32
            assert np.isfinite(data["exp"]).all()
    assert "real-time factor" in result.stderr and "turn 24/24" in result.stderr


def test_generate_with_given_motion_copies_that_head(demo_dir, tiny_checkpoint, tmp_path):
    result = cli("generate", "--audio-a", demo_dir / f"{DEMO_ID}_speaker1.wav",
                 "--audio-b", demo_dir / f"{DEMO_ID}_speaker2.wav", "--out-dir", tmp_path,
                 "--name", "listen", "--checkpoint", tiny_checkpoint,
                 "--motion-b", demo_dir / f"{DEMO_ID}_speaker2.npz")
    assert result.returncode == 0, result.stderr
    with np.load(demo_dir / f"{DEMO_ID}_speaker2.npz") as real, \
            np.load(tmp_path / "listen_speaker2.npz") as out:
        n = min(len(real["exp"]), len(out["exp"]))
        assert np.array_equal(out["exp"][:n], real["exp"][:n])
        assert np.array_equal(out["pose"][:n], real["pose"][:n])


def test_generate_on_tones_of_other_rates_and_channels(tiny_checkpoint, tmp_path):
    write_tone(tmp_path / "x_speaker1.wav", 2.5, 220, sr=44100, channels=2)
    write_tone(tmp_path / "x_speaker2.flac", 2.0, 330, sr=8000)
    result = cli("generate", "--audio-a", tmp_path / "x_speaker1.wav", "--audio-b",
                 tmp_path / "x_speaker2.flac", "--out-dir", tmp_path / "out",
                 "--checkpoint", tiny_checkpoint, "--seed", "3", "--steps", "2")
    assert result.returncode == 0, result.stderr
    assert "shorter" in result.stderr                   # the padding warning
    with np.load(tmp_path / "out" / "x_speaker1.npz") as data:
        assert data["exp"].shape == (62, 50)            # round(2.5 * 25), last partial turn kept


@pytest.mark.parametrize("case", ["missing", "not_audio", "silent", "nan", "bad_motion", "empty"])
def test_bad_input_exits_with_one_clear_line_and_no_output(case, tiny_checkpoint, tmp_path):
    good = tmp_path / "good.wav"
    write_tone(good, 2, 200)
    bad = tmp_path / "bad.wav"
    extra = []
    if case == "not_audio":
        bad.write_text("hello")
    elif case == "silent":
        sf.write(bad, np.zeros(16000, np.float32), 16000)
    elif case == "nan":
        sf.write(bad, np.full(16000, np.nan, np.float32), 16000, subtype="FLOAT")
    elif case == "empty":
        sf.write(bad, np.zeros(0, np.float32), 16000)
    elif case == "bad_motion":
        bad = good
        np.savez(tmp_path / "m.npz", exp=np.zeros((10, 40)), pose=np.zeros((10, 6)))
        extra = ["--motion-b", tmp_path / "m.npz"]
    out = tmp_path / "out"
    result = cli("generate", "--audio-a", bad, "--audio-b", good, "--out-dir", out,
                 "--checkpoint", tiny_checkpoint, *extra)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    write_tone(tmp_path / "a.wav", 1, 200)
    result = cli("generate", "--audio-a", tmp_path / "a.wav", "--audio-b", tmp_path / "a.wav",
                 "--out-dir", tmp_path / "o", "--checkpoint", tmp_path / "none.pt")
    assert result.returncode != 0 and "checkpoint not found" in result.stderr


def test_bench_prints_side_by_side_figures(tiny_checkpoint):
    result = cli("bench", "--checkpoint", tiny_checkpoint, "--contexts", "0,3", "--turns", "6",
                 "--dialogue-seconds", "5")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "cached" in out and "recompute" in out and "real-time factor" in out
    mouths = {line.split("mouth")[0].strip(): line.split()[-3:] for line in out.splitlines()
              if line.strip().startswith("+ ")}
    assert set(mouths) == {"+ logmel", "+ whisper"}            # both mouths timed side by side
    assert all(float(v) > 0 for row in mouths.values() for v in row)
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [r[0] for r in rows[:2]] == ["0", "3"]
    assert all(float(r[1]) > 0 and float(r[2]) > 0 for r in rows[:2])
