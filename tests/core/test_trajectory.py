"""The trajectory head and the per-frame turn filter: whole turns that are smooth and join
the frames already emitted."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from model_core.evaluation import motion_time as mt
from model_core.config import preset
from model_core.generate import DialogueGenerator, GenerationOptions
from model_core.model import TimarModel
from model_core.testing import make_tiny_model, speech_like
from model_core.turn_joins import SeamBlend, TurnFilter


def test_turn_filter_keeps_constants_and_joins_the_previous_turn():
    f = TurnFilter(2.0)
    flat = torch.full((2, 25, 56), 0.7)
    assert torch.allclose(f(flat, flat.clone()), flat, atol=1e-6)
    previous = torch.zeros(1, 25, 3)
    jumpy = torch.ones(1, 25, 3)
    out = f(jumpy, previous)
    # the new turn starts near where the emitted one ended and rises monotonically to 1
    assert out[0, 0, 0] < 0.7 and torch.all(out[0, 1:, 0] >= out[0, :-1, 0] - 1e-6)
    assert abs(float(out[0, -1, 0]) - 1.0) < 1e-5
    # white noise gets much calmer
    noise = torch.randn(1, 25, 56, generator=torch.Generator().manual_seed(0))
    assert (out := f(noise, None)).diff(dim=1).abs().mean() < 0.4 * noise.diff(dim=1).abs().mean()
    assert TurnFilter(0.0)(noise, None) is noise
    # one sigma per channel: the face left alone, the neck smoothed
    sigmas = torch.zeros(56)
    sigmas[53:] = 2.0
    split = TurnFilter(sigmas)(noise, None)
    assert torch.allclose(split[..., :53], noise[..., :53], atol=1e-6)
    assert torch.allclose(split[..., 53:], out[..., 53:], atol=1e-6)


def test_seam_blend_removes_a_jump_and_leaves_the_turn_alone_after_it():
    """A ramp whose new turn starts 1.0 too high: blended, the boundary step equals the
    ramp's own step, the offset has faded by the turn's end, the emitted frames are not
    touched; a turn that already continues its past is left as it is."""
    step = 0.01
    ramp = step * torch.arange(50, dtype=torch.float32)[None, :, None].expand(2, 50, 3)
    previous, true_next = ramp[:, :25].clone(), ramp[:, 25:]
    blend = SeamBlend(3.0)
    out = blend(true_next + 1.0, previous)
    assert torch.allclose(out[:, 0], previous[:, -1] + step, atol=1e-5)     # no seam
    assert torch.allclose(out[:, -1], true_next[:, -1] + 1.0, atol=0.01)    # faded out
    assert torch.all(out.diff(dim=1).abs() < 0.5)                           # no new jump
    assert torch.equal(previous, ramp[:, :25])
    assert torch.allclose(blend(true_next, previous), true_next, atol=1e-6)
    assert torch.equal(blend(true_next + 1.0, None), true_next + 1.0)       # first turn
    assert torch.equal(SeamBlend(0.0)(true_next + 1.0, previous), true_next + 1.0)


def test_trajectory_sample_continues_its_past_and_ignores_an_invalid_one():
    model = make_tiny_model(seed=1)
    head = model.diffloss
    z = torch.randn(2, 25, model.config.width, generator=torch.Generator().manual_seed(0))
    noise = torch.randn(6, 2, 25, 56, generator=torch.Generator().manual_seed(1))
    past = torch.randn(2, model.config.past_frames, 56)
    valid = torch.tensor([True, True])
    base = head.sample(z, past, valid, noise=noise)
    moved = head.sample(z, past + 1.0, valid, noise=noise)
    assert (base - moved).abs().max() > 1e-3                 # the past is read
    off = torch.tensor([False, False])
    assert torch.equal(head.sample(z, past, off, noise=noise),
                       head.sample(z, past + 1.0, off, noise=noise))   # "no past" is not


def _toy_batch(clips: int, seconds: int, seed: int):
    """Smooth sinusoidal motion (0.3-1.5 Hz, random phases) with noise-burst speech."""
    rng = np.random.default_rng(seed)
    frames = seconds * 25
    t = np.arange(frames)[None, :, None] / 25
    freq = np.linspace(0.3, 1.5, 56)[None, None]
    phase = rng.uniform(0, 2 * np.pi, (clips, 1, 56))
    motion = np.sin(2 * np.pi * freq * t + phase).astype(np.float32)
    audio = np.stack([speech_like(seconds, seed * 100 + i) for i in range(clips)])
    return {"audio_agent": torch.from_numpy(audio), "audio_user": torch.from_numpy(audio[::-1].copy()),
            "motion_agent": torch.from_numpy(motion), "motion_user": torch.from_numpy(motion[::-1].copy())}, motion


def _train(head: str, steps: int = 150):
    torch.manual_seed(0)
    extra = {} if head == "trajectory" else {"mask_ratio_min": 0.7}
    model = TimarModel(preset("tiny", head=head, diff_batch_mul=2, **extra))
    batch, motion = _toy_batch(4, 3, seed=0)
    optim = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for _ in range(steps):
        loss, _ = model.training_loss(batch)
        optim.zero_grad()
        loss.backward()
        optim.step()
    return model.eval(), motion


@pytest.fixture(scope="module")
def trained():
    return {h: _train(h) for h in ("trajectory", "diffusion")}


def test_trained_trajectory_head_is_smoother_than_per_frame_sampling(trained):
    """Same data, same steps, same seed: the trajectory head's turns move like the training
    motion (smooth sines); the paper's per-frame sampling jitters. Both keep their spread."""
    audio = speech_like(6, 7), speech_like(6, 8)
    target = _toy_batch(1, 6, seed=3)[1][0]
    scores = {}
    for head, (model, _) in trained.items():
        opts = GenerationOptions(device="cpu", seed=3, turn_filter_sigma=0.0,
                                 seam_blend_frames=0.0)
        out = DialogueGenerator(model, opts).run(*audio).motion_a
        assert out.std() > 0.3 * target.std(), head              # not a still head
        scores[head] = (mt.mean_abs_acceleration(out) / out.std(), mt.high_frequency_share(out),
                        mt.seam_ratio(out))
    (traj_acc, traj_hf, traj_seam), (frame_acc, frame_hf, _) = scores["trajectory"], scores["diffusion"]
    assert traj_acc < 0.5 * frame_acc, scores
    assert traj_hf < 0.5 * frame_hf, scores


def test_filter_options_resolve_per_head():
    """Defaults per head (trajectory: none; per-frame: 1.5 everywhere); --turn-filter sets
    face and neck; --neck-filter only the neck; out-of-range values are refused."""
    from model_core.errors import TimarError

    def sigmas(model, **kw):
        gen = DialogueGenerator(model, GenerationOptions(device="cpu", **kw))
        return gen._filter_sigmas(model.diffloss.sees_past)

    traj = make_tiny_model(seed=0)
    per_frame = TimarModel(preset("tiny", head="diffusion", mask_ratio_min=0.7))
    assert torch.all(sigmas(traj)[:53] == 0) and torch.all(sigmas(traj)[53:] == 1.5)
    assert torch.all(sigmas(per_frame) == 1.5)
    assert torch.all(sigmas(traj, turn_filter_sigma=1.0) == 1.0)
    face_neck = sigmas(traj, neck_filter_sigma=2.0)
    assert torch.all(face_neck[:53] == 0) and torch.all(face_neck[53:] == 2.0)
    with pytest.raises(TimarError, match="neck filter"):
        DialogueGenerator(traj, GenerationOptions(device="cpu", neck_filter_sigma=-1.0))


@pytest.mark.parametrize("head", ["trajectory", "diffusion"])
def test_default_generation_has_no_seams(trained, head):
    """With the defaults (seam blend on), the jump from the last frame of a turn to the
    first of the next is no larger than a typical jump inside turns; without the blend the
    boundaries show."""
    model, _ = trained[head]
    audio = speech_like(6, 7), speech_like(6, 8)
    seams = {}
    for blend in (None, 0.0):
        out = DialogueGenerator(model, GenerationOptions(device="cpu", seed=3,
                                                         seam_blend_frames=blend)).run(*audio)
        seams[blend] = max(mt.seam_ratio(out.motion_a), mt.seam_ratio(out.motion_b))
    assert seams[None] <= 1.3 and seams[None] < 0.7 * seams[0.0], seams
