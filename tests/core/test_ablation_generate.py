"""The ablations run through the same generator: the MLP head is deterministic, the
full-attention model cannot be cached and recomputes a cropped window, still turn-causal."""
import numpy as np

from model_core.generate import DialogueGenerator, GenerationOptions
from model_core.testing import make_tiny_model, speech_like


def _run(model, a, b, **kw):
    return DialogueGenerator(model, GenerationOptions(device="cpu", **kw)).run(a, b)


def test_mlp_head_ignores_the_sampling_seed():
    model = make_tiny_model(seed=1, head="mlp")
    a, b = speech_like(3.0, seed=1), speech_like(3.0, seed=2)
    one, two = _run(model, a, b, seed=0), _run(model, a, b, seed=7)
    np.testing.assert_array_equal(one.motion_a, two.motion_a)
    assert np.isfinite(one.motion_a).all() and one.motion_a.std() > 0


def test_full_attention_recomputes_and_stays_turn_causal():
    model = make_tiny_model(seed=2, attention="full")
    assert not model.cacheable
    a, b = speech_like(4.0, seed=3), speech_like(4.0, seed=4)
    cached = _run(model, a, b, context_turns=2, use_cache=True)
    plain = _run(model, a, b, context_turns=2, use_cache=False)
    np.testing.assert_allclose(cached.motion_a, plain.motion_a, atol=1e-6)
    later = b.copy()
    later[3 * 16000:] = speech_like(1.0, seed=9)
    changed = _run(model, a, later, context_turns=2)
    np.testing.assert_allclose(changed.motion_a[:75], cached.motion_a[:75], atol=1e-5)
    assert np.abs(changed.motion_a[75:] - cached.motion_a[75:]).max() > 1e-4
