"""Streaming generation: causality, cache == recompute, seeds, lengths, given heads."""
import numpy as np
import pytest

from model_core.errors import AudioError, TimarError
from model_core.generate import DialogueGenerator, GenerationOptions
from model_core.testing import make_tiny_model

SR = 16000


def speech(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(round(seconds * SR))
    t = np.arange(n) / SR
    env = np.clip(np.sin(2 * np.pi * (2 + seed % 3) * t + seed), 0, None)
    return (0.2 * env * rng.standard_normal(n)).astype(np.float32)


@pytest.fixture(scope="module")
def model():
    """The tiny preset: the trajectory head (whole turns, continuing the emitted frames)."""
    return make_tiny_model(seed=3)


@pytest.fixture(scope="module")
def per_frame_model():
    """The paper's per-frame diffusion head on the same tiny transformer."""
    return make_tiny_model(seed=3, head="diffusion", mask_ratio_min=0.7)


def run(model, a, b, **kw):
    given = {k: kw.pop(k) for k in ("motion_a", "motion_b") if k in kw}
    return DialogueGenerator(model, GenerationOptions(**kw)).run(a, b, **given)


@pytest.mark.parametrize("use_cache", [True, False])
def test_future_audio_and_partner_motion_do_not_change_the_past(model, use_cache):
    a, b = speech(10, 1), speech(10, 2)
    partner = np.random.default_rng(0).normal(size=(250, 56)).astype(np.float32)
    base = run(model, a, b, motion_b=partner, context_turns=3, use_cache=use_cache, seed=5)
    t = 6                                            # change everything from turn 6 onwards
    a2, b2, partner2 = a.copy(), b.copy(), partner.copy()
    a2[t * SR:] = speech(4, 9)
    b2[t * SR:] = speech(4, 8)
    partner2[t * 25:] += 1.0
    changed = run(model, a2, b2, motion_b=partner2, context_turns=3, use_cache=use_cache, seed=5)
    assert np.abs(changed.motion_a[:t * 25] - base.motion_a[:t * 25]).max() <= 1e-6
    assert np.abs(changed.motion_a[t * 25:] - base.motion_a[t * 25:]).max() > 1e-3


@pytest.mark.parametrize("use_cache", [True, False])
def test_both_heads_future_audio_does_not_change_the_past(model, use_cache):
    a, b = speech(9, 3), speech(9, 4)
    base = run(model, a, b, context_turns=7, use_cache=use_cache)
    a2 = a.copy()
    a2[5 * SR:] = 0.5 * speech(4, 7)
    changed = run(model, a2, b, context_turns=7, use_cache=use_cache)
    for head in ("motion_a", "motion_b"):
        assert np.abs(getattr(changed, head)[:125] - getattr(base, head)[:125]).max() <= 1e-6
    assert np.abs(changed.motion_a[125:] - base.motion_a[125:]).max() > 1e-3


@pytest.mark.parametrize("context", [1, 3, 7])
def test_cached_path_equals_recompute_over_a_dialogue_longer_than_the_window(model, context):
    a, b = speech(13.4, 5), speech(13.4, 6)           # 14 turns > 8-turn window
    cached = run(model, a, b, context_turns=context, use_cache=True, seed=11)
    recomputed = run(model, a, b, context_turns=context, use_cache=False, seed=11)
    assert cached.motion_a.shape == (335, 56)
    assert np.abs(cached.motion_a - recomputed.motion_a).max() <= 1e-4
    assert np.abs(cached.motion_b - recomputed.motion_b).max() <= 1e-4


@pytest.mark.parametrize("turn_filter_sigma", [0.0, 1.5])
def test_per_frame_head_cached_equals_recompute_and_is_causal(per_frame_model, turn_filter_sigma):
    a, b = speech(10.4, 5), speech(10.4, 6)
    kw = dict(context_turns=3, seed=11, turn_filter_sigma=turn_filter_sigma)
    cached = run(per_frame_model, a, b, use_cache=True, **kw)
    recomputed = run(per_frame_model, a, b, use_cache=False, **kw)
    assert np.abs(cached.motion_a - recomputed.motion_a).max() <= 1e-4
    a2 = a.copy()
    a2[6 * SR:] = speech(4.4, 9)
    changed = run(per_frame_model, a2, b, use_cache=True, **kw)
    assert np.abs(changed.motion_a[:150] - cached.motion_a[:150]).max() <= 1e-6
    assert np.abs(changed.motion_a[150:] - cached.motion_a[150:]).max() > 1e-3


def test_cache_equals_recompute_without_masking_own_history(model):
    a, b = speech(12, 7), speech(12, 8)
    kw = dict(context_turns=7, seed=2, mask_agent_history=False)
    cached = run(model, a, b, use_cache=True, **kw)
    recomputed = run(model, a, b, use_cache=False, **kw)
    assert np.abs(cached.motion_a - recomputed.motion_a).max() <= 1e-4


def test_context_changes_the_output(model):
    a, b = speech(6, 1), speech(6, 2)
    c0 = run(model, a, b, context_turns=0)
    c7 = run(model, a, b, context_turns=7)
    assert np.allclose(c0.motion_a[:25], c7.motion_a[:25], atol=1e-5)   # first turn: no past
    assert np.abs(c0.motion_a[25:] - c7.motion_a[25:]).max() > 1e-3


def test_same_seed_same_output_different_seed_different_output(model):
    a, b = speech(4, 1), speech(4, 2)
    first = run(model, a, b, seed=7)
    again = run(model, a, b, seed=7)
    other = run(model, a, b, seed=8)
    assert np.array_equal(first.motion_a, again.motion_a)
    assert np.array_equal(first.motion_b, again.motion_b)
    assert np.abs(first.motion_a - other.motion_a).max() > 1e-3


def test_partial_last_turn_is_generated_and_short_track_padded(model):
    a, b = speech(3.3, 1), speech(2.0, 2)
    gen = DialogueGenerator(model, GenerationOptions())
    turns = list(gen.stream(a, b))
    assert [t.index for t in turns] == [0, 1, 2, 3]
    assert turns[-1].total_turns == 4
    assert sum(len(t.motion_a) for t in turns) == round(3.3 * 25) == 82
    assert len(turns[-1].motion_b) == 7
    assert any("shorter" in w and "B" in w for w in gen.warnings)
    assert turns[-1].audio_seconds_done == pytest.approx(82 / 25)


def test_given_head_is_copied_through(model):
    a, b = speech(3, 1), speech(3, 2)
    given = np.random.default_rng(1).normal(size=(75, 56)).astype(np.float32)
    result = run(model, a, b, motion_a=given)
    assert np.array_equal(result.motion_a, given)
    assert result.motion_b.shape == (75, 56)
    assert not np.allclose(result.motion_b, given)


def test_bad_inputs_raise_clear_errors(model, tmp_path):
    gen = DialogueGenerator(model, GenerationOptions())
    with pytest.raises(AudioError, match="silent"):
        gen.run(np.zeros(SR, np.float32), speech(1, 1))
    nan = speech(1, 1)
    nan[100] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        gen.run(nan, speech(1, 2))
    with pytest.raises(AudioError, match="empty"):
        gen.run(np.zeros(0, np.float32), speech(1, 2))
    with pytest.raises(AudioError, match="not found"):
        gen.run(tmp_path / "missing.wav", speech(1, 2))
    with pytest.raises(TimarError, match="context"):
        DialogueGenerator(model, GenerationOptions(context_turns=8))
    with pytest.raises(TimarError, match="nothing to generate"):
        m = np.zeros((25, 56), np.float32)
        gen.run(speech(1, 1), speech(1, 2), motion_a=m, motion_b=m)


@pytest.mark.parametrize("steps", [1, 2, 5, 20])
def test_any_number_of_sampling_steps_gives_finite_motion(model, steps):
    result = run(model, speech(1.5, 1), speech(1.5, 2), steps=steps)
    assert result.motion_a.shape == (38, 56) and np.isfinite(result.motion_a).all()


def test_coherent_noise_keeps_frames_smooth_without_changing_the_first_frame(per_frame_model):
    a, b = speech(4, 1), speech(4, 2)
    iid = run(per_frame_model, a, b, seed=4, turn_filter_sigma=0.0)
    smooth = run(per_frame_model, a, b, seed=4, noise_time_constant=8.0, turn_filter_sigma=0.0)
    assert np.allclose(iid.motion_a[0], smooth.motion_a[0], atol=1e-5)   # same first draw
    jitter = lambda m: np.abs(np.diff(m, axis=0)).mean()                   # noqa: E731
    assert jitter(smooth.motion_a) < 0.7 * jitter(iid.motion_a)


def test_open_streams_the_same_turns_as_run_and_exposes_its_progress(model):
    a, b = speech(3.4, 7), speech(3.4, 8)
    opts = GenerationOptions(context_turns=2, seed=4, device="cpu")
    stream = DialogueGenerator(model, opts).open(a, b)
    assert (stream.n_turns, stream.frames, stream.turns_done) == (4, 85, 0)
    turns = list(stream)
    assert stream.turns_done == 4 and [t.index for t in turns] == [0, 1, 2, 3]
    whole = DialogueGenerator(model, opts).run(a, b)
    assert np.array_equal(np.concatenate([t.motion_a for t in turns]), whole.motion_a)
    with pytest.raises(StopIteration):
        next(stream)


def test_replacing_the_last_turn_reaches_only_the_turns_after_it(model):
    """Teacher forcing through the public stream: head A's emitted turn replaced by other
    motion changes what both heads generate next (A is B's partner), never what was emitted."""
    a, b = speech(4, 9), speech(4, 10)
    opts = GenerationOptions(context_turns=3, seed=1, device="cpu", mask_agent_history=False)
    plain = DialogueGenerator(model, opts).run(a, b)
    stream = DialogueGenerator(model, opts).open(a, b)
    with pytest.raises(TimarError, match="no turn has been emitted"):
        stream.replace_last_turn(0, np.zeros((25, 56), np.float32))
    first = next(stream)
    assert np.array_equal(first.motion_a, plain.motion_a[:25])
    with pytest.raises(TimarError, match=r"\(25, 56\)"):
        stream.replace_last_turn(0, np.zeros((24, 56), np.float32))
    with pytest.raises(TimarError, match="head must be 0"):
        stream.replace_last_turn(2, np.zeros((25, 56), np.float32))
    stream.replace_last_turn(0, np.full((25, 56), 0.5, np.float32))
    rest = list(stream)
    assert np.array_equal(first.motion_a, plain.motion_a[:25])      # emitted: unchanged
    later_a = np.concatenate([t.motion_a for t in rest])
    later_b = np.concatenate([t.motion_b for t in rest])
    assert not np.allclose(later_a, plain.motion_a[25:])
    assert not np.allclose(later_b, plain.motion_b[25:])


def test_should_stop_stops_inside_a_turn_and_keeps_the_turns_emitted(model):
    """Asked between the transformer's blocks: the stop lands in the middle of turn 2's pass,
    turns 0-1 stand, the stream refuses to go on, and no inference mode leaks out."""
    import torch

    from model_core.errors import Stopped

    asked = []
    depth = model.config.depth

    def should_stop():
        asked.append(len(asked))
        return len(asked) > 2 * (depth + 2) + 1      # two whole turns, then one block more

    a, b = speech(5, 3), speech(5, 4)
    opts = GenerationOptions(context_turns=2, seed=0, device="cpu")
    stream = DialogueGenerator(model, opts, should_stop=should_stop).open(a, b)
    emitted = [next(stream), next(stream)]
    with pytest.raises(Stopped):
        next(stream)
    assert stream.turns_done == 2 and not torch.is_inference_mode_enabled()
    with pytest.raises(TimarError, match="stopped or failed"):
        next(stream)
    plain = DialogueGenerator(model, opts).run(a, b)
    assert np.array_equal(np.concatenate([t.motion_a for t in emitted]), plain.motion_a[:50])
