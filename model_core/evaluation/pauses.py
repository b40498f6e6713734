# SPDX-License-Identifier: GPL-3.0-or-later
"""Cut long speech at its pauses into pieces Whisper and pocketsphinx can take (<= ~20 s).

Voice activity by frame energy: 10 ms frames are *active* when their level is above both
the recording's noise floor (10th percentile) + 12 dB and its loudest frame - 45 dB. Gaps
shorter than ``min_pause_s`` (a stop closure, a breath between words) are filled, blips
shorter than 80 ms dropped; what is left are speech regions. Neighbouring regions join into
one piece while the piece stays within ``max_s``; a piece then ends ``pad_s`` after its last
region (at most half-way into the pause), so every cut lies inside a pause, never in a word.
A single region longer than ``max_s`` (no pause long enough) is split at its quietest
300 ms, the best remaining guess of a word boundary.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..constants import SAMPLE_RATE

FRAME_S = 0.01
MAX_PIECE_S = 20.0


class Piece(NamedTuple):
    start: float     # seconds into the recording
    end: float


def frame_levels_db(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(frames,) RMS level of each 10 ms frame in dB."""
    hop = int(FRAME_S * sample_rate)
    n = len(audio) // hop
    frames = np.asarray(audio[:n * hop], dtype=np.float64).reshape(n, hop)
    return 10.0 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where ``mask`` is true."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def speech_regions(audio: np.ndarray, min_pause_s: float = 0.3,
                   sample_rate: int = SAMPLE_RATE) -> list[tuple[int, int]]:
    """[start, end) frame runs of speech (10 ms frames)."""
    level = frame_levels_db(audio, sample_rate)
    if len(level) == 0:
        return []
    threshold = max(np.percentile(level, 10) + 12.0, level.max() - 45.0)
    active = level > threshold
    runs = _runs(active)
    gap = int(round(min_pause_s / FRAME_S))
    merged: list[list[int]] = []
    for s, e in runs:
        if merged and s - merged[-1][1] < gap:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged if e - s >= 8]


def _split_long(level: np.ndarray, s: int, e: int, max_frames: int) -> list[tuple[int, int]]:
    """Split one region at its quietest 300 ms until every part fits ``max_frames``."""
    if e - s <= max_frames:
        return [(s, e)]
    smooth = np.convolve(level[s:e], np.ones(30) / 30, mode="same")
    lo, hi = max(e - s - max_frames, 30), min(max_frames, e - s - 30)   # both parts shrink
    if hi <= lo:
        lo, hi = 30, e - s - 30
    cut = s + lo + int(np.argmin(smooth[lo:hi]))
    return _split_long(level, s, cut, max_frames) + _split_long(level, cut, e, max_frames)


def cut_at_pauses(audio: np.ndarray, max_s: float = MAX_PIECE_S, pad_s: float = 0.25,
                  min_pause_s: float = 0.3, sample_rate: int = SAMPLE_RATE) -> list[Piece]:
    """Pieces (seconds) of ``audio`` that hold all its speech, each at most ``max_s`` long
    (plus its padding), cut inside pauses; silence-only audio gives no piece."""
    level = frame_levels_db(audio, sample_rate)
    max_frames = int(max_s / FRAME_S) - 2 * int(pad_s / FRAME_S)
    regions = [part for s, e in speech_regions(audio, min_pause_s, sample_rate)
               for part in _split_long(level, s, e, max_frames)]
    groups: list[list[int]] = []
    for s, e in regions:
        if groups and e - groups[-1][0] <= max_frames:
            groups[-1][1] = e
        else:
            groups.append([s, e])
    total = len(audio) / sample_rate
    pieces = []
    for i, (s, e) in enumerate(groups):
        # Padding reaches at most half-way to the neighbouring piece's speech.
        before = (s - groups[i - 1][1]) / 2 if i else s
        after = (groups[i + 1][0] - e) / 2 if i + 1 < len(groups) else len(level) - e
        start = (s - min(before, pad_s / FRAME_S)) * FRAME_S
        end = (e + min(after, pad_s / FRAME_S)) * FRAME_S
        pieces.append(Piece(round(max(start, 0.0), 3), round(min(end, total), 3)))
    return pieces
