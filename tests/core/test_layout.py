"""Token layout of a turn and the turn-level attention mask."""
import torch

from model_core.constants import TOKENS_PER_TURN
from model_core.layout import MARKER_IDS, MARKER_POSITIONS, SLOTS, attention_mask, turn_ids


def test_turn_has_110_tokens_with_every_slot_used_once():
    used = torch.cat([MARKER_POSITIONS] + list(SLOTS.values()))
    assert TOKENS_PER_TURN == 110
    assert sorted(used.tolist()) == list(range(110))
    assert sorted(MARKER_IDS.tolist()) == list(range(10))


def test_streams_in_spec_order_each_wrapped_in_markers():
    order = sorted(SLOTS, key=lambda k: int(SLOTS[k][0]))
    assert order == ["user_speech", "user_motion", "agent_speech", "agent_motion"]
    for name, slot in SLOTS.items():
        assert len(slot) == 25
        assert int(slot[0]) - 1 in MARKER_POSITIONS.tolist()     # start marker before
        assert int(slot[-1]) + 1 in MARKER_POSITIONS.tolist()    # end marker after
    assert MARKER_POSITIONS[0] == 0 and MARKER_POSITIONS[-1] == 109


def test_mask_is_bidirectional_within_a_turn_and_causal_across():
    ids = turn_ids(0, 3)
    mask = attention_mask(ids, ids, context=7)
    # agent frame 0 of turn 1 sees user frame 24 of turn 1 (later position, same turn)
    q = 110 + int(SLOTS["agent_motion"][0])
    k = 110 + int(SLOTS["user_speech"][-1])
    assert mask[q, k]
    assert mask[q, 0]                    # earlier turn
    assert not mask[q, 220]              # later turn
    assert not mask[0, 110]


def test_mask_band_limits_context_and_full_attention_ablation():
    ids = turn_ids(0, 5)
    mask = attention_mask(ids, ids, context=1)
    assert mask[4 * 110, 3 * 110] and not mask[4 * 110, 2 * 110]
    zero = attention_mask(ids, ids, context=0)
    assert zero.sum() == 5 * 110 * 110
    full = attention_mask(ids, ids, context=7, causal=False)
    assert bool(full.all())


def test_turn_ids_keep_absolute_turn_index():
    ids = turn_ids(12, 2)
    assert ids[0] == 12 and ids[-1] == 13 and len(ids) == 220


def test_token_times_align_the_four_streams_frame_by_frame():
    from model_core.layout import token_times

    times = token_times(turn_ids(3, 2))
    assert len(times) == 220
    for slot in SLOTS.values():
        assert times[slot].tolist() == list(range(75, 100))          # turn 3 = frames 75..99
        assert times[110 + slot].tolist() == list(range(100, 125))
    assert times[0] == 75 and times[109] == 99                         # turn markers
