"""Loudness and pitch per 25 fps frame, measured on one window per frame, whole-clip or
streamed.

Frame ``g`` covers samples ``[640 g, 640 (g + 1))``; its features are measured on a
1024-sample Hann window centred on the frame, so a frame's features need the audio up to
192 samples (12 ms) after its end. The corpus's features (``model_core.corpus.features``)
and the generator's upper face (``model_core.face.upper``) read the same two measures from
here: :func:`loudness_db` and :func:`pitch` (normalised autocorrelation).
:class:`ProsodyStream` hands them out frame by frame as samples arrive, equal to the
whole-clip windows bit for bit.
"""
from __future__ import annotations

import numpy as np

from ..constants import SAMPLE_RATE, SAMPLES_PER_FRAME

WINDOW = 1024
F0_MIN, F0_MAX = 70.0, 400.0
# Samples a frame's window reaches past the frame's end.
WINDOW_AHEAD = WINDOW // 2 - SAMPLES_PER_FRAME // 2            # 192


def loudness_db(win: np.ndarray) -> np.ndarray:
    """dBFS of the RMS of each windowed frame (Hann window power-corrected)."""
    rms = np.sqrt((win.astype(np.float64) ** 2).mean(axis=1) / 0.375 + 1e-12)
    return (20.0 * np.log10(rms)).astype(np.float32)


def _lag_bias(n: int) -> np.ndarray:
    """The autocorrelation of the Hann window itself (the triangular-ish bias to undo)."""
    return np.fft.irfft(np.abs(np.fft.rfft(np.hanning(n), 2 * n)) ** 2)[:n]


_BIAS = {WINDOW: _lag_bias(WINDOW)}


def pitch(win: np.ndarray, sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    """Autocorrelation pitch tracker: (f0 Hz, normalised peak strength 0..1) per frame."""
    n = win.shape[1]
    spec = np.fft.rfft(win, 2 * n, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :n]
    wac = _BIAS[n] if n in _BIAS else _lag_bias(n)
    ac = ac / np.maximum(wac, 1e-3 * wac[0])
    lo, hi = int(sample_rate / F0_MAX), int(sample_rate / F0_MIN)
    seg = ac[:, lo:hi]
    lag = seg.argmax(axis=1) + lo
    strength = seg.max(axis=1) / np.maximum(ac[:, 0], 1e-12)
    return (sample_rate / lag).astype(np.float32), np.clip(strength, 0, 1).astype(np.float32)


class ProsodyStream:
    """One track's (dBFS, f0 Hz, voicing strength) per frame, as its samples arrive.

    :meth:`push` takes the next samples and returns the frames whose windows are complete;
    the first frame's window starts 512 samples before the audio, which count as silence,
    as in the whole-clip windows of ``corpus.features.frame_windows``."""

    def __init__(self):
        self._hann = np.hanning(WINDOW).astype(np.float32)
        self._buf = np.zeros(WINDOW // 2, np.float32)     # the silence before the audio
        self._buf_start = -(WINDOW // 2)                   # sample index of _buf[0]
        self.frames_done = 0

    def push(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Append ``samples`` (16 kHz float32); (db, f0, strength), each (k,), for the k
        frames completed by them."""
        self._buf = np.concatenate([self._buf, np.asarray(samples, np.float32)])
        end = self._buf_start + len(self._buf)
        # frame g's window is [640 g + 320 - 512, 640 g + 320 + 512)
        ready = (end - WINDOW // 2 - SAMPLES_PER_FRAME // 2) // SAMPLES_PER_FRAME + 1
        count = max(0, ready - self.frames_done)
        if count == 0:
            return (np.zeros(0, np.float32),) * 3
        starts = (self.frames_done + np.arange(count)) * SAMPLES_PER_FRAME \
            + SAMPLES_PER_FRAME // 2 - WINDOW // 2 - self._buf_start
        win = self._buf[starts[:, None] + np.arange(WINDOW)[None, :]] * self._hann
        self.frames_done += count
        keep_from = self.frames_done * SAMPLES_PER_FRAME + SAMPLES_PER_FRAME // 2 - WINDOW // 2
        self._buf = self._buf[keep_from - self._buf_start:]
        self._buf_start = keep_from
        f0, strength = pitch(win)
        return loudness_db(win), f0, strength
