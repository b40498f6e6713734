"""A real learning signal: the tiny model, and its ablations, overfit one short clip."""
import numpy as np
import pytest
import torch

from model_core.config import preset
from model_core.model import TimarModel


@pytest.mark.parametrize("variant", [{}, {"head": "mlp"}, {"attention": "full"}],
                         ids=["timar", "mlp-head", "full-attention"])
def test_loss_decreases_when_overfitting_one_clip(variant):
    torch.manual_seed(0)
    model = TimarModel(preset("tiny", diff_batch_mul=8, **variant))
    rng = np.random.default_rng(0)
    frames = 50
    t = np.arange(frames)[:, None] / 25
    motion = np.sin(2 * np.pi * t * np.linspace(0.3, 2.0, 56)[None]).astype(np.float32)
    batch = {"audio_agent": torch.from_numpy(rng.normal(size=(2, frames * 640)) * 0.1).float(),
             "audio_user": torch.from_numpy(rng.normal(size=(2, frames * 640)) * 0.1).float(),
             "motion_agent": torch.from_numpy(np.stack([motion, motion])),
             "motion_user": torch.from_numpy(np.stack([motion[::-1], motion[::-1]]).copy())}
    optim = torch.optim.AdamW(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(250):
        loss, _ = model.training_loss(batch)
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(float(loss.detach()))
    first, last = np.mean(losses[:20]), np.mean(losses[-20:])
    assert last < 0.5 * first, (first, last)
