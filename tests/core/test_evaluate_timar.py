"""The evaluation runner driving TIMAR's generator (a random tiny model: plumbing, not quality)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model_core import cli
from model_core.evaluation.methods import TimarMethod
from model_core.evaluation.protocol import AgentClip, evaluate, tables
from model_core.testing import make_tiny_checkpoint, make_tiny_model


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _clip(frames: int = 75, seed: int = 0, partner: bool = True) -> AgentClip:
    rng = np.random.default_rng(seed)
    speech = lambda: (0.1 * rng.normal(size=frames * 640)).astype(np.float32)  # noqa: E731
    motion = lambda: (0.1 * rng.normal(size=(frames, 56))).astype(np.float32)  # noqa: E731
    return AgentClip("d", "speaker1", speech(), speech(), motion(),
                     motion() if partner else None)


@pytest.fixture(scope="module")
def model():
    return make_tiny_model(seed=0)


def test_timar_method_shapes_and_determinism(model):
    clip = _clip()
    method = TimarMethod(model, context=1, steps=2, seed=0, device="cpu")
    a, b = method.predict(clip), method.predict(clip)
    assert a.shape == (75, 56) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    assert method.name == "TIMAR n=1" and method.context == 1


def test_timar_is_turn_causal_in_the_protocol(model):
    """Contrast with the DualTalk baseline: changing the partner's last second of speech
    leaves the agent's first two turns unchanged."""
    clip = _clip(seed=1)
    changed = _clip(seed=1)
    changed.audio_user[50 * 640:] = np.random.default_rng(9).normal(size=25 * 640) * 0.3
    method = TimarMethod(model, context=3, steps=2, seed=0, device="cpu")
    base, alt = method.predict(clip), method.predict(changed)
    np.testing.assert_allclose(alt[:50], base[:50], atol=1e-5)


def test_agent_history_modes(model):
    """What the agent's own past holds: masked (the protocol) never reads the agent's real
    motion; real history reads only the turns already emitted; generated differs from masked
    once there is a past to see. The first turn has no past, so all modes agree on it."""
    clip, changed = _clip(seed=4), _clip(seed=4)
    changed.motion_agent[:25] += 1.0                       # the agent's real first turn
    run = lambda mode, c: TimarMethod(model, 1, steps=2, device="cpu",  # noqa: E731
                                      agent_history=mode).predict(c)
    masked, real, generated = run("masked", clip), run("real", clip), run("generated", clip)
    np.testing.assert_array_equal(run("masked", changed), masked)
    np.testing.assert_allclose(real[:25], masked[:25], atol=1e-6)
    np.testing.assert_allclose(generated[:25], masked[:25], atol=1e-6)
    assert np.abs(generated[25:] - masked[25:]).max() > 1e-4
    real_changed = run("real", changed)
    np.testing.assert_allclose(real_changed[:25], real[:25], atol=1e-6)
    assert np.abs(real_changed[25:50] - real[25:50]).max() > 1e-4
    assert TimarMethod(model, 3, agent_history="real").name == "TIMAR n=3 (real history)"
    with pytest.raises(Exception, match="agent_history"):
        TimarMethod(model, 3, agent_history="oracle")


def test_runner_tables_per_context_and_partner_unknown(model):
    clips = [_clip(seed=2), _clip(seed=3, partner=False)]
    methods = [TimarMethod(model, n, steps=2, device="cpu") for n in (0, 1)]
    results = evaluate(clips, methods)
    for r in results.values():
        assert len(r.per_clip) == 2 and not r.skipped
        assert r.mean["num_clips_with_partner"] == 1
        assert r.mean["pfd_exp"] is not None          # from the clip that has a partner
    text = tables(results)
    assert "TIMAR by context length n" in text
    assert any(line.startswith("n=0") for line in text.splitlines())
    assert any(line.startswith("n=1") for line in text.splitlines())


def test_timar_scores_a_clip_whose_partner_never_speaks(model):
    clip = _clip(seed=4)
    clip.audio_user[:] = 0.0                    # a silent listener is valid data
    results = evaluate([clip], [TimarMethod(model, 0, steps=1, device="cpu")])
    r = results["TIMAR n=0"]
    assert r.skipped == [] and len(r.per_clip) == 1


def test_timar_skips_a_clip_with_broken_audio(model):
    clip = _clip(seed=5)
    clip.audio_user[10] = np.nan
    results = evaluate([clip], [TimarMethod(model, 0, steps=1, device="cpu")])
    assert results["TIMAR n=0"].skipped == ["d/speaker1"]


def test_evaluate_command_with_checkpoint(tmp_path: Path, capsys):
    import soundfile as sf

    from model_core.face.flame import save_motion_npz

    test = tmp_path / "test"
    test.mkdir()
    rng = np.random.default_rng(10)
    for s in ("speaker1", "speaker2"):
        sf.write(test / f"pair_{s}.wav", (0.1 * rng.normal(size=35200)).astype(np.float32), 16000)
        save_motion_npz(test / f"pair_{s}.npz", (0.1 * rng.normal(size=(55, 56))).astype(np.float32))
    ckpt = make_tiny_checkpoint(tmp_path / "tiny.pt")
    out = tmp_path / "m.json"
    code = cli.main(["evaluate", "--checkpoint", ckpt, "--data", str(test), "--context", "0,1",
                     "--steps", "2", "--device", "cpu", "--trivial", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "TIMAR by context length n" in printed and "methods" in printed
    report = json.loads(out.read_text())
    assert set(report["methods"]) == {"TIMAR n=0", "TIMAR n=1", "static mean (clip oracle)",
                                      "mirror partner"}
    assert report["methods"]["TIMAR n=1"]["context"] == 1
    assert report["methods"]["TIMAR n=0"]["num_clips"] == 2
    assert report["protocol"]["contexts"] == [0, 1]


def test_draws_score_each_sample_of_a_stochastic_method(model):
    """--draws k: TIMAR is sampled k times per clip (seeds 0..k-1, each its own row, the
    first identical to a single-draw run); deterministic methods are scored once."""
    from model_core.baselines.trivial import StaticMean

    clip = _clip(seed=3)
    timar = TimarMethod(model, context=1, steps=2, seed=0, device="cpu")
    results = evaluate([clip], [timar, StaticMean(np.zeros(56, np.float32))], draws=3)
    rows = results["TIMAR n=1"].per_clip
    assert [r["draw"] for r in rows] == [0, 1, 2]
    assert len({round(r["mse_exp"], 9) for r in rows}) == 3     # different samples
    single = evaluate([clip], [TimarMethod(model, context=1, steps=2, seed=0, device="cpu")])
    assert single["TIMAR n=1"].per_clip[0]["mse_exp"] == rows[0]["mse_exp"]
    assert len(results["static mean (train)"].per_clip) == 1
    with pytest.raises(ValueError):
        evaluate([clip], [timar], draws=0)
