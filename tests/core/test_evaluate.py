"""The evaluation runner and the ``evaluate`` command on tiny synthetic DualTalk folders."""
from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from model_core import cli
from model_core.baselines.trivial import Mirror, StaticMean
from model_core.evaluation.protocol import agent_clips, evaluate, iter_clips, tables
from model_core.face.flame import save_motion_npz

DEMO = Path(__file__).resolve().parents[3] / "shared" / "data" / "dualtalk_demo"


def _speech(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    env = 0.5 + 0.5 * np.sin(np.linspace(0, 6 * np.pi, n)) ** 2
    return (0.1 * env * rng.normal(size=n)).astype(np.float32)


def _motion(frames: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(scale=0.05, size=(frames, 56)), axis=0)
    return walk.astype(np.float32)


def _write(folder: Path, did: str, seconds: float, m1, m2, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / f"{did}_speaker1.wav", _speech(seconds, seed), 16000)
    sf.write(folder / f"{did}_speaker2.wav", _speech(seconds, seed + 1), 16000)
    if m1 is not None:
        save_motion_npz(folder / f"{did}_speaker1.npz", m1)
    if m2 is not None:
        save_motion_npz(folder / f"{did}_speaker2.npz", m2)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """DIR/train and DIR/test; dialogue 'same' has identical motion for both speakers."""
    test = tmp_path / "test"
    _write(test, "pair", 3.3, _motion(82, 1), _motion(82, 2), seed=10)
    same = _motion(75, 3)
    _write(test, "same", 3.0, same, same.copy(), seed=20)
    _write(tmp_path / "train", "t0", 2.0, np.zeros((50, 56), np.float32),
           np.full((50, 56), 0.5, np.float32), seed=30)
    return tmp_path


def test_agent_clips_cut_to_whole_seconds_and_skip_unknown_agents():
    d = SimpleNamespace(id="x", audio1=np.zeros(70 * 640 + 5), audio2=np.zeros(80 * 640),
                        motion1=_motion(72, 0), motion2=None, num_frames=72)
    clips = agent_clips(d)
    assert len(clips) == 1                        # speaker2 has no motion: never the agent
    c = clips[0]
    assert c.agent == "speaker1" and c.frames == 50
    assert c.motion_user is None and len(c.audio_agent) == 50 * 640 == len(c.audio_user)
    short = SimpleNamespace(id="s", audio1=np.zeros(600 * 20), audio2=np.zeros(600 * 20),
                            motion1=_motion(20, 0), motion2=_motion(20, 1), num_frames=20)
    assert agent_clips(short) == []               # under one second: nothing to score


def test_runner_mirror_is_exact_when_partner_equals_agent(dataset: Path):
    clips = list(iter_clips(str(dataset / "test")))
    assert sorted((c.dialogue_id, c.agent, c.frames) for c in clips) == [
        ("pair", "speaker1", 75), ("pair", "speaker2", 75),
        ("same", "speaker1", 75), ("same", "speaker2", 75)]
    results = evaluate(clips, [Mirror(), StaticMean()])
    same = [c for c in results["mirror partner"].per_clip if c["dialogue"] == "same"]
    assert len(same) == 2
    for c in same:
        for g in ("exp", "jaw", "pose"):
            assert c[f"mse_{g}"] == 0.0
            assert c[f"fd_{g}"] == pytest.approx(0.0, abs=1e-8)
            assert c[f"rpcc_{g}"] == pytest.approx(0.0, abs=1e-9)
    pair = [c for c in results["mirror partner"].per_clip if c["dialogue"] == "pair"]
    assert all(c["mse_exp"] > 0 for c in pair)
    oracle = results["static mean (clip oracle)"].mean
    assert oracle["num_clips"] == 4 and oracle["sid_exp"] == 0.0
    text = tables(results)
    assert "mirror partner" in text and "static mean (clip oracle)" in text


def test_evaluate_command_prints_table_and_writes_json(dataset: Path, capsys):
    out = dataset / "metrics.json"
    code = cli.main(["evaluate", "--data", str(dataset / "test"), "--skip-timar", "--trivial",
                     "--out", str(out), "--max-clips", "2"])
    assert code == 0
    printed = capsys.readouterr().out
    for header in ("FD", "P-FD", "MSE", "SID", "rPCC", "mirror partner", "static mean (train)"):
        assert header in printed
    report = json.loads(out.read_text())
    assert set(report) == {"data", "protocol", "methods"}
    assert set(report["methods"]) == {"static mean (train)", "mirror partner"}
    mirror = report["methods"]["mirror partner"]
    assert set(mirror) >= {"context", "num_clips", "mean", "table", "per_clip", "skipped"}
    assert mirror["num_clips"] == 4
    for m in ("fd", "pfd", "mse", "sid", "rsid", "rpcc"):
        for g in ("exp", "jaw", "pose"):
            assert mirror["mean"][f"{m}_{g}"] is not None
    assert mirror["table"]["mse_exp"] == pytest.approx(10 * mirror["mean"]["mse_exp"])
    # the static mean of the train split: 50 frames of 0 and 50 of 0.5 -> 0.25 everywhere
    static = report["methods"]["static mean (train)"]
    clip = static["per_clip"][0]
    assert clip["sid_exp"] == 0.0 and clip["partner_known"] is True


def test_evaluate_command_errors(dataset: Path, capsys):
    assert cli.main(["evaluate", "--data", str(dataset / "nowhere"), "--skip-timar",
                     "--trivial"]) == 2
    assert cli.main(["evaluate", "--data", str(dataset / "test"), "--skip-timar"]) == 2
    err = capsys.readouterr().err
    assert "no such folder" in err and "nothing to evaluate" in err


def test_partner_unknown_dialogue(tmp_path: Path):
    """Like the real demo: only speaker 2's motion. Speaker 2 is scored without P-FD/rPCC."""
    _write(tmp_path, "solo", 2.4, None, _motion(60, 5), seed=40)
    clips = list(iter_clips(str(tmp_path)))
    assert [(c.agent, c.frames) for c in clips] == [("speaker2", 50)]
    results = evaluate(clips, [StaticMean(), Mirror()])
    assert results["mirror partner"].skipped == ["solo/speaker2"]
    mean = results["static mean (clip oracle)"].mean
    assert mean["fd_exp"] is not None and mean["mse_jaw"] is not None
    assert mean["pfd_exp"] is None and mean["rpcc_pose"] is None
    assert mean["num_clips_with_partner"] == 0


@pytest.mark.skipif(not DEMO.is_dir(), reason=f"real DualTalk demo not found at {DEMO}")
def test_real_demo_scores_speaker2():
    clips = list(iter_clips(str(DEMO)))
    assert [c.agent for c in clips] == ["speaker2"]
    assert clips[0].frames == 575                    # 587 frames cut to 23 whole seconds
    results = evaluate(clips, [StaticMean()])
    mean = results["static mean (clip oracle)"].mean
    assert mean["mse_exp"] > 0 and mean["pfd_exp"] is None
    assert np.isfinite(mean["fd_exp"]) and mean["sid_exp"] == 0.0
    assert mean["sid_gt_exp"] > 2.0


def test_evaluate_command_with_dualtalk_baseline(dataset: Path, capsys):
    import torch

    from model_core.baselines.dualtalk import DualTalkBaseline, preset, save_baseline

    torch.manual_seed(0)
    ckpt = dataset / "dualtalk.pt"
    save_baseline(ckpt, DualTalkBaseline(preset("tiny")))
    out = dataset / "dt.json"
    code = cli.main(["evaluate", "--data", str(dataset / "test"), "--skip-timar",
                     "--baseline", str(ckpt), "--device", "cpu", "--out", str(out)])
    assert code == 0
    assert "DualTalk" in capsys.readouterr().out
    dualtalk = json.loads(out.read_text())["methods"]["DualTalk"]
    assert dualtalk["num_clips"] == 4 and dualtalk["context"] is None
    assert dualtalk["mean"]["pfd_exp"] is not None and dualtalk["mean"]["mse_exp"] > 0


def test_evaluate_scores_the_mouth_per_phone_too(dataset: Path, tmp_path: Path, capsys):
    from model_core.testing import make_tiny_checkpoint

    ckpt = make_tiny_checkpoint(tmp_path / "mouth.pt", mouth=True)
    utt = tmp_path / "utt"
    utt.mkdir()
    sf.write(utt / "u0.wav", _speech(2.0, 40), 16000)
    phones = [["sil", 0.0, 0.3], ["b", 0.3, 0.4], ["aa", 0.4, 0.8], ["m", 0.8, 0.9],
              ["uw", 0.9, 1.4], ["sil", 1.4, 2.0]]
    (utt / "u0.json").write_text(json.dumps(phones))
    out = tmp_path / "m.json"
    code = cli.main(["evaluate", "--checkpoint", str(ckpt), "--data", str(dataset / "test"),
                     "--context", "0", "--max-clips", "1", "--lipsync", str(utt), "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "viseme_accuracy" in printed and "closure_recall" in printed
    report = json.loads(out.read_text())
    (row,) = report["lipsync"]["utterances"]
    assert row["utterance"] == "u0" and row["bilabials"] == 2 and row["face_from_flame"] is False
    assert 0.0 <= report["lipsync"]["pooled"]["viseme_accuracy"] <= 1.0
    # the mouth is the TIMAR model's: with --skip-timar there is none to score
    assert cli.main(["evaluate", "--data", str(dataset / "test"), "--skip-timar", "--trivial",
                     "--lipsync", str(utt)]) == 2
