"""Token layout of one turn and the turn-level attention masks.

A turn is 110 tokens: turn-start, then four streams (user speech, user motion, agent
speech, agent motion), each 25 frame tokens wrapped in its own start/end marker, then
turn-end. Markers use 10 learned embeddings, numbered in order of appearance.
"""
from __future__ import annotations

import torch

from .constants import TOKENS_PER_TURN, TURN_FRAMES

STREAMS = ("user_speech", "user_motion", "agent_speech", "agent_motion")


def _build() -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    slots: dict[str, torch.Tensor] = {}
    marker_pos, marker_id = [0], [0]              # turn start
    pos = 1
    for i, name in enumerate(STREAMS):
        marker_pos.append(pos)
        marker_id.append(1 + 2 * i)               # stream start
        slots[name] = torch.arange(pos + 1, pos + 1 + TURN_FRAMES)
        pos += TURN_FRAMES + 1
        marker_pos.append(pos)
        marker_id.append(2 + 2 * i)               # stream end
        pos += 1
    marker_pos.append(pos)
    marker_id.append(9)                           # turn end
    assert pos + 1 == TOKENS_PER_TURN
    return slots, torch.tensor(marker_pos), torch.tensor(marker_id)


SLOTS, MARKER_POSITIONS, MARKER_IDS = _build()


def _frame_offsets() -> torch.Tensor:
    """Frame (0..24) within its turn of every token position: a stream's frame i is at i;
    start markers sit at 0 and end markers at 24 with the frames they wrap."""
    offsets = torch.zeros(TOKENS_PER_TURN, dtype=torch.long)
    for slot in SLOTS.values():
        offsets[slot] = torch.arange(TURN_FRAMES)
        offsets[int(slot[-1]) + 1] = TURN_FRAMES - 1
    offsets[-1] = TURN_FRAMES - 1
    return offsets


FRAME_OFFSETS = _frame_offsets()


def token_times(query_turns: torch.Tensor) -> torch.Tensor:
    """Time in frames (turn * 25 + frame in turn) of every token of whole turns, given the
    turn index of each token. Tokens of the four streams at the same moment share a time,
    so rotary attention can align speech and motion frame by frame."""
    within = torch.arange(len(query_turns), device=query_turns.device) % TOKENS_PER_TURN
    return query_turns * TURN_FRAMES + FRAME_OFFSETS.to(query_turns.device)[within]


def turn_ids(first_turn: int, num_turns: int, device=None) -> torch.Tensor:
    """Turn index of every token of ``num_turns`` consecutive turns: (num_turns * 110,)."""
    turns = torch.arange(first_turn, first_turn + num_turns, device=device)
    return turns.repeat_interleave(TOKENS_PER_TURN)


def attention_mask(query_turns: torch.Tensor, key_turns: torch.Tensor, context: int,
                   causal: bool = True) -> torch.Tensor:
    """Boolean (Lq, Lk) mask, True = may attend.

    Turn-causal with a band: a token of turn q sees every token of turns q - context .. q
    (bidirectional inside its own turn, never a later turn). ``causal=False`` is the
    full-attention ablation: every token sees every token given.
    """
    if not causal:
        return torch.ones(len(query_turns), len(key_turns), dtype=torch.bool,
                          device=query_turns.device)
    q = query_turns[:, None]
    k = key_turns[None, :]
    return (k <= q) & (k >= q - context)
