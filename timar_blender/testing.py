# SPDX-License-Identifier: GPL-3.0-or-later
"""Synthetic FLAME-like motion for the keyframe-writer tests and the benchmark (they test
how motion is written, not the model; generation tests run the real tiny model). numpy only."""
from __future__ import annotations

import numpy as np


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
