"""The DualTalk-style baseline and the trivial references."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from model_core.baselines.dualtalk import (DualTalkConfig, DualTalkMethod, DualTalkBaseline,
                                          load_baseline, preset, save_baseline)
from model_core.baselines.trivial import Mirror, StaticMean, training_mean
from model_core.errors import CheckpointError
from model_core.evaluation.protocol import AgentClip
from model_core.face.flame import save_motion_npz

TINY = preset("tiny")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _batch(b: int = 2, frames: int = 25, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"audio_agent": 0.1 * torch.randn(b, frames * 640, generator=g),
            "audio_user": 0.1 * torch.randn(b, frames * 640, generator=g),
            "motion_agent": torch.randn(b, frames, 56, generator=g),
            "motion_user": torch.randn(b, frames, 56, generator=g)}


def test_config_presets():
    assert TINY.encoder_layers == 3 and TINY.decoder_layers == 1
    assert preset("paper") == DualTalkConfig()
    with pytest.raises(ValueError):
        preset("huge")
    with pytest.raises(ValueError):
        DualTalkConfig(width=30, heads=4)


def test_shapes_and_predict():
    torch.manual_seed(0)
    model = DualTalkBaseline(TINY)
    batch = _batch()
    out = model.motion_from(batch["audio_agent"], batch["audio_user"], batch["motion_user"])
    assert out.shape == (2, 25, 56)
    loss, logs = model.training_loss(batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert model(batch)[0].ndim == 0          # forward(batch) is the loss, as TIMAR's (DDP)
    assert set(logs) >= {"mse", "vel"}
    rng = np.random.default_rng(0)
    pred = model.predict(rng.normal(size=50 * 640) * 0.1, rng.normal(size=50 * 640) * 0.1,
                         rng.normal(size=(50, 56)).astype(np.float32))
    assert pred.shape == (50, 56) and pred.dtype == np.float32
    # partner motion unknown: length from the audio, the training mean stands in
    assert model.predict(np.zeros(60 * 640), np.zeros(60 * 640), None).shape == (60, 56)
    assert model.training       # predict restores the training flag


def test_non_causal_future_partner_audio_changes_early_frames():
    """Documents the contrast with TIMAR: DualTalk's frame 0 depends on audio 3 s later."""
    torch.manual_seed(1)
    model = DualTalkBaseline(TINY).eval()
    rng = np.random.default_rng(1)
    a, u = rng.normal(size=100 * 640) * 0.1, rng.normal(size=100 * 640) * 0.1
    m = rng.normal(size=(100, 56)).astype(np.float32)
    base = model.predict(a, u, m)
    u2 = u.copy()
    u2[75 * 640:] = rng.normal(size=25 * 640) * 0.5     # change only the last second
    changed = model.predict(a, u2, m)
    assert np.abs(changed[:25] - base[:25]).max() > 1e-6


def test_loss_decreases_when_overfitting_one_clip():
    torch.manual_seed(2)
    model = DualTalkBaseline(TINY)
    batch = _batch(b=1, frames=25, seed=3)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(100):
        loss, _ = model.training_loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first


def test_motion_stats_normalise_and_roundtrip(tmp_path):
    torch.manual_seed(3)
    model = DualTalkBaseline(TINY)
    mean, std = np.linspace(-1, 1, 56), np.linspace(0.5, 2, 56)
    model.set_motion_stats(mean, std)
    x = torch.randn(1, 5, 56)
    torch.testing.assert_close(model.denormalize(model.normalize(x)), x)
    path = tmp_path / "dt.pt"
    save_baseline(path, model, {"step": 3})
    raw = torch.load(path, weights_only=True)
    assert raw["kind"] == "dualtalk_baseline" and raw["config"]["width"] == 32
    loaded = load_baseline(path)
    assert loaded.config == model.config and loaded.meta == {"step": 3}
    np.testing.assert_allclose(loaded.motion_mean.numpy(), mean, rtol=1e-6)
    rng = np.random.default_rng(4)
    a, u = rng.normal(size=25 * 640) * 0.1, rng.normal(size=25 * 640) * 0.1
    m = rng.normal(size=(25, 56)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(a, u, m), model.eval().predict(a, u, m), atol=1e-5)


def test_load_baseline_rejects_other_files(tmp_path):
    with pytest.raises(CheckpointError):
        load_baseline(tmp_path / "missing.pt")
    other = tmp_path / "other.pt"
    torch.save({"kind": "timar", "config": {}, "state_dict": {}}, other)
    with pytest.raises(CheckpointError):
        load_baseline(other)
    bad = tmp_path / "bad.pt"
    torch.save({"kind": "dualtalk_baseline", "config": {"width": 32, "heads": 2, "n_mels": 16},
                "state_dict": {}}, bad)
    with pytest.raises(CheckpointError):
        load_baseline(bad)


def _clip(partner: np.ndarray | None, agent: np.ndarray) -> AgentClip:
    n = len(agent) * 640
    return AgentClip("d", "speaker1", np.zeros(n, np.float32), np.zeros(n, np.float32),
                     agent, partner)


def test_trivial_baselines(tmp_path):
    rng = np.random.default_rng(5)
    agent = rng.normal(size=(50, 56)).astype(np.float32)
    partner = rng.normal(size=(50, 56)).astype(np.float32)
    clip = _clip(partner, agent)
    np.testing.assert_array_equal(Mirror().predict(clip), partner)
    assert Mirror().predict(_clip(None, agent)) is None
    oracle = StaticMean().predict(clip)
    assert oracle.shape == (50, 56)
    np.testing.assert_allclose(oracle[7], agent.mean(0), rtol=1e-5)
    save_motion_npz(tmp_path / "a_speaker1.npz", np.ones((10, 56), np.float32))
    save_motion_npz(tmp_path / "a_speaker2.npz", np.full((30, 56), 3.0, np.float32))
    mean = training_mean(tmp_path)
    np.testing.assert_allclose(mean, np.full(56, 2.5), rtol=1e-6)   # frame-weighted
    fixed = StaticMean(mean)
    assert "train" in fixed.name
    np.testing.assert_allclose(fixed.predict(clip), 2.5)


def test_dualtalk_method_wraps_predict():
    torch.manual_seed(6)
    method = DualTalkMethod(DualTalkBaseline(TINY).eval())
    rng = np.random.default_rng(6)
    clip = _clip(rng.normal(size=(25, 56)).astype(np.float32),
                 rng.normal(size=(25, 56)).astype(np.float32))
    assert method.predict(clip).shape == (25, 56) and method.context is None


def test_trains_with_the_shared_trainer(tmp_path):
    """The baseline plugs into TIMAR's Trainer: loss, EMA, and its own save function."""
    from model_core.train import Trainer, TrainOptions, motion_stats

    torch.manual_seed(7)
    data = _batch(b=4, frames=25, seed=8)
    items = [{k: v[i] for k, v in data.items()} for i in range(4)]
    model = DualTalkBaseline(TINY)
    model.set_motion_stats(*motion_stats(items))
    opts = TrainOptions(epochs=2, batch_size=2, device="cpu", warmup_steps=1, save_every=1000,
                        log_every=1000)
    out = tmp_path / "dualtalk.pt"
    summary = Trainer(model, items, opts, out, save_fn=save_baseline,
                      log=lambda *a, **k: None).fit()
    assert summary["steps"] == 4 and np.isfinite(summary["loss"])
    loaded = load_baseline(out)
    assert loaded.meta["step"] == 4
    np.testing.assert_allclose(loaded.motion_mean.numpy(), model.motion_mean.numpy())
