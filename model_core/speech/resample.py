"""Band-limited polyphase resampling in plain numpy.

Computes exactly what ``scipy.signal.resample_poly(x, up, down, window=("kaiser", 8.0))``
computes (the same windowed-sinc low-pass filter with unit DC gain times ``up``, the same
alignment and output length; tests/core/test_resample.py checks equality), so generation does not
need scipy and the Blender extension need not bundle a 40 MB wheel for this one function.
"""
from __future__ import annotations

from math import gcd

import numpy as np

_CHUNK = 1 << 15   # outputs per matrix product, bounds the memory of one step


def _lowpass(up: int, down: int, beta: float) -> tuple[np.ndarray, int]:
    max_rate = max(up, down)
    half_len = 10 * max_rate
    n = np.arange(2 * half_len + 1) - half_len
    cutoff = 1.0 / max_rate
    h = cutoff * np.sinc(cutoff * n) * np.kaiser(2 * half_len + 1, beta)
    return h / h.sum() * up, half_len


def polyphase_taps(up: int, down: int, beta: float = 8.0) -> tuple[np.ndarray, int]:
    """The filter ``resample_poly`` applies (zeros prepended for alignment) and its half
    length; ``up``/``down`` already reduced. Shared with the block resampler."""
    h, half_len = _lowpass(up, down, beta)
    return np.concatenate([np.zeros(down - half_len % down), h]), half_len


def resample_poly(x: np.ndarray, up: int, down: int, beta: float = 8.0) -> np.ndarray:
    """Upsample by ``up``, low-pass filter, downsample by ``down`` (1-D float64 result)."""
    g = gcd(up, down)
    up, down = up // g, down // g
    x = np.asarray(x, dtype=np.float64)
    if up == down == 1:
        return x.copy()
    n_out = -(-len(x) * up // down)
    h, half_len = polyphase_taps(up, down, beta)
    pre_pad = down - half_len % down
    first = (half_len + pre_pad) // down          # outputs dropped to centre the filter
    taps_per_phase = -(-len(h) // up)
    padded = np.concatenate([np.zeros(taps_per_phase), x, np.zeros(taps_per_phase + down + 1)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, taps_per_phase)
    y = np.empty(n_out)
    # Outputs m = first + j with the same m % up use the same taps (one polyphase branch).
    for r in range(up):
        j0 = (r - first) % up
        if j0 >= n_out:
            continue
        m0 = first + j0
        taps = h[(m0 * down) % up::up]
        taps = np.concatenate([taps, np.zeros(taps_per_phase - len(taps))])[::-1]  # oldest first
        i0 = (m0 * down) // up                    # newest input sample of the first output
        count = len(range(j0, n_out, up))
        rows = windows[i0 + 1: i0 + 1 + (count - 1) * down + 1: down]
        for c in range(0, count, _CHUNK):
            block = rows[c:c + _CHUNK]
            y[j0 + up * c: j0 + up * (c + _CHUNK): up][:len(block)] = block @ taps
    return y
