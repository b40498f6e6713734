# SPDX-License-Identifier: GPL-3.0-or-later
"""Synthetic motion and a fake turn stream, for tests, the benchmark and trying the add-on
without a model: ``generation.stream_override = fake_stream_factory(4.0)``. numpy only."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

TURN = 25


def synthetic_motion(frames: int, seed: int = 0) -> np.ndarray:
    """(frames, 56) float32 FLAME-like motion at 25 fps: slow expression drifts, a jaw that
    opens and closes like syllables, and nods and turns of the head."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames, dtype=np.float64)[:, None] / 25.0
    freq = rng.uniform(0.1, 0.8, size=(1, 56))
    phase = rng.uniform(0, 2 * np.pi, size=(1, 56))
    amp = np.concatenate([rng.uniform(0.2, 1.5, 50), [0.08, 0.01, 0.01], [0.12, 0.18, 0.05]])
    m = amp[None] * np.sin(2 * np.pi * freq * t + phase)
    m[:, 50] = 0.1 + 0.1 * np.sin(2 * np.pi * 4.0 * t[:, 0] + phase[0, 50])   # syllables
    return m.astype(np.float32)


@dataclass
class FakeTurn:
    index: int
    total_turns: int
    start_frame: int
    motion_a: np.ndarray
    motion_b: np.ndarray
    elapsed_s: float
    audio_seconds_done: float


def fake_turns(motion_a: np.ndarray, motion_b: np.ndarray, delay: float = 0.0):
    """Yield TurnResult-like objects cutting two (T, 56) arrays into 1 s turns."""
    frames = len(motion_a)
    total = -(-frames // TURN)
    start = time.perf_counter()
    for i in range(total):
        if delay:
            time.sleep(delay)
        sl = slice(i * TURN, min(frames, (i + 1) * TURN))
        yield FakeTurn(i, total, i * TURN, motion_a[sl], motion_b[sl],
                       time.perf_counter() - start, sl.stop / 25.0)


def fake_stream_factory(seconds: float, seed: int = 0, delay: float = 0.0):
    """A ``generation.stream_override``: take k yields synthetic motion with seed seed+k."""
    frames = int(round(seconds * 25))

    def factory(take: int):
        return fake_turns(synthetic_motion(frames, seed + 2 * take),
                          synthetic_motion(frames, seed + 2 * take + 1), delay)
    return factory
