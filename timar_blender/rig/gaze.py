# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a head's eyes look, per scene frame: at the partner's head while listening, away
and back while speaking (people look away to think and return to check on the listener),
with the small saccades of motion.py on top. Gaze is (yaw, pitch) in radians in the
character's frame (yaw + to its left, pitch + up); ``look_key_values`` turns it into the
ARKit eyeLook* weights for rigs with eye shape keys instead of eye bones. Pure numpy."""
from __future__ import annotations

import numpy as np

from . import channels, motion

SPEAKING_WINDOW_S = 1.0          # trailing window of the speaking score
SPEAKING_THRESHOLD = 0.25        # mean of 1 - P(silence) above which the head speaks
AWAY_GAP_S = (1.5, 4.0)          # between look-aways while speaking
AWAY_HOLD_S = (0.6, 1.6)
AWAY_EASE_S = 0.15
LOOK_FULL_RAD = 0.45             # an eyeLook* weight of 1 (about 25 degrees)


def speaking_score(values: np.ndarray) -> np.ndarray:
    """(N, 123) prepared channels -> (N,) how much the head speaks (1 - P(silence))."""
    return 1.0 - values[:, channels.VISEMES.start + 0]


def speaking_mask(score: np.ndarray, fps: float) -> np.ndarray:
    """Trailing-window mean above the threshold: causal, so a take growing turn by turn
    keeps its earlier decisions."""
    w = max(1, int(round(SPEAKING_WINDOW_S * fps)))
    c = np.concatenate([[0.0], np.cumsum(score, dtype=np.float64)])
    idx = np.arange(len(score))
    lo = np.maximum(0, idx + 1 - w)
    mean = (c[idx + 1] - c[lo]) / (idx + 1 - lo)
    return mean > SPEAKING_THRESHOLD


def look_away_curve(speaking: np.ndarray, fps: float, seed: int) -> np.ndarray:
    """(N, 2) offsets from the partner: while speaking, look-aways of 0.6-1.6 s every
    1.5-4 s (the first soon after speech starts), eased in and out."""
    n = len(speaking)
    out = np.zeros((n, 2), dtype=np.float64)
    rng = np.random.default_rng(seed + 4099)
    next_t, t = 0.3 * fps, 0
    while t < n:
        if not speaking[t]:
            next_t = max(next_t, t + 0.3 * fps)
            t += 1
            continue
        if t < next_t:
            t += 1
            continue
        hold = rng.uniform(*AWAY_HOLD_S) * fps
        target = np.array([rng.choice([-1.0, 1.0]) * rng.uniform(0.15, 0.35),
                           rng.uniform(-0.15, 0.08)])
        ease = max(1.0, AWAY_EASE_S * fps)
        frames = np.arange(t, min(n, int(t + hold + 2 * ease) + 1))
        rel = frames - t
        w = np.clip(np.minimum(rel / ease, (hold + 2 * ease - rel) / ease), 0, 1)
        out[frames] = w[:, None] * target
        t = int(t + hold + 2 * ease) + 1
        next_t = t + rng.uniform(*AWAY_GAP_S) * fps
    return out.astype(np.float32)


def gaze_curve(values: np.ndarray, fps: float, seed: int, look_at=(0.0, 0.0),
               amount: float = 1.0) -> np.ndarray:
    """(N, 2) gaze for (N, 123) prepared channels at the scene's rate: the partner's
    direction ``look_at``, plus ``amount`` x (look-aways while speaking + saccades)."""
    n = len(values)
    speaking = speaking_mask(speaking_score(values), fps)
    moves = look_away_curve(speaking, fps, seed) + motion.saccade_curve(n, fps, seed)
    return (np.asarray(look_at, dtype=np.float32)[None] + amount * moves).astype(np.float32)


def gaze_axis_angle(gaze: np.ndarray) -> np.ndarray:
    """(N, 2) yaw, pitch -> (N, 3) FLAME axis-angle (yaw about +y, pitch about -x)."""
    aa = np.zeros((len(gaze), 3), dtype=np.float64)
    aa[:, 0] = -gaze[:, 1]
    aa[:, 1] = gaze[:, 0]
    return aa


def look_key_values(gaze: np.ndarray) -> dict[str, np.ndarray]:
    """(N, 2) gaze -> ARKit eyeLook* weights: to the character's left the left eye looks
    out and the right eye in; up and down for both."""
    yaw = gaze[:, 0] / LOOK_FULL_RAD
    pitch = gaze[:, 1] / LOOK_FULL_RAD
    pos = lambda x: np.clip(x, 0, 1).astype(np.float32)  # noqa: E731
    return {"eyeLookOutLeft": pos(yaw), "eyeLookInRight": pos(yaw),
            "eyeLookInLeft": pos(-yaw), "eyeLookOutRight": pos(-yaw),
            "eyeLookUpLeft": pos(pitch), "eyeLookUpRight": pos(pitch),
            "eyeLookDownLeft": pos(-pitch), "eyeLookDownRight": pos(-pitch)}
