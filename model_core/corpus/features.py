"""Frame-level speech features at 25 fps, shared by the motion teacher and the statistics
estimator: loudness envelope, voicing and pitch.

Frame ``t`` covers samples ``[t*640, (t+1)*640)``; each feature is measured on a 1024-sample
Hann window centred on that frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import SAMPLES_PER_FRAME
from ..speech.prosody import WINDOW, loudness_db, pitch


@dataclass
class SpeechFeatures:
    """Per-frame features of one track, all (T,) float32."""

    db: np.ndarray        # loudness, dBFS of the windowed RMS
    env: np.ndarray       # loudness mapped to 0..1 between the track's floor and its peaks
    voiced: np.ndarray    # 0/1 voicing decision
    f0: np.ndarray        # pitch in Hz where voiced, 0 elsewhere
    active: np.ndarray    # 0/1 speech activity (env above a threshold, lightly smoothed)


def frame_windows(audio: np.ndarray, num_frames: int) -> np.ndarray:
    """(num_frames, WINDOW) Hann-windowed slices centred on each frame."""
    audio = np.asarray(audio, dtype=np.float32)
    need = num_frames * SAMPLES_PER_FRAME
    if len(audio) < need:
        audio = np.pad(audio, (0, need - len(audio)))
    half = WINDOW // 2
    padded = np.pad(audio, (half, half))
    centres = np.arange(num_frames) * SAMPLES_PER_FRAME + SAMPLES_PER_FRAME // 2
    idx = centres[:, None] + np.arange(WINDOW)[None, :]   # offsets into padded signal
    return padded[idx] * np.hanning(WINDOW).astype(np.float32)


def speech_features(audio: np.ndarray, num_frames: int | None = None) -> SpeechFeatures:
    """Features of a 16 kHz mono track; ``num_frames`` defaults to the whole frames in it."""
    if num_frames is None:
        num_frames = len(audio) // SAMPLES_PER_FRAME
    win = frame_windows(audio, num_frames)
    db = loudness_db(win)
    floor = float(np.percentile(db, 10))
    peak = float(np.percentile(db, 99))
    span = max(peak - floor, 20.0)      # a silent track gives a tiny envelope, not noise
    env = np.clip((db - floor) / span, 0.0, 1.0).astype(np.float32)
    f0, strength = pitch(win)
    loud = db > max(floor + 0.35 * span, -55.0)
    voiced = (loud & (strength > 0.45)).astype(np.float32)
    f0 = np.where(voiced > 0, f0, 0.0).astype(np.float32)
    # Activity: loud frames, with gaps of up to 4 frames (160 ms) bridged.
    act = loud.astype(np.float32)
    kernel = np.ones(5, dtype=np.float32)
    bridged = np.convolve(act, kernel, mode="same") > 0
    active = (np.convolve(bridged.astype(np.float32), kernel, mode="same") >= 5) | loud
    return SpeechFeatures(db=db, env=env * (db > -60.0), voiced=voiced, f0=f0,
                          active=active.astype(np.float32))
