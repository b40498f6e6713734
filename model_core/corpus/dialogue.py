"""Turn-taking layout: two speakers' utterances placed on two separate tracks.

Each speaker holds the floor for one or two utterances (1-4 s each, short pauses between),
then the floor passes, after a gap or overlapping the end of the previous turn; the
overlap decision steers the overlapped share of speech towards a target (about 15%). The
listener now and then answers with a short backchannel 200-600 ms after the speaker's
utterance ends, or during it. Loudness varies per speaker, per dialogue and per utterance;
each track gets its own faint coloured background noise, so a speaker's track is
near-silent while they listen. Where a talker knows the phones of what it just said
(``last_phones``), the segment keeps them, moved to the track's time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.signal import lfilter

from ..constants import SAMPLE_RATE, SAMPLES_PER_FRAME
from .phones import shift


class Talker(Protocol):
    """Source of one speaker's speech."""

    def say(self, rng: np.random.Generator) -> np.ndarray: ...            # one utterance
    def backchannel(self, rng: np.random.Generator) -> np.ndarray | None: ...


@dataclass
class LayoutConfig:
    overlap: float = 0.15             # target share of sounding frames where both sound
    backchannel_prob: float = 0.35    # per utterance of the partner
    second_utterance_prob: float = 0.35
    gap_s: tuple[float, float] = (0.1, 0.9)
    overlap_s: tuple[float, float] = (0.3, 1.2)
    level_db: tuple[float, float] = (-27.0, -16.0)    # speaker speech RMS, dBFS
    utterance_db: float = 3.0                          # +- per utterance
    noise_db: tuple[float, float] = (-66.0, -52.0)     # background noise RMS, dBFS


@dataclass
class Layout:
    """The two tracks (2, N) and what was placed where (seconds)."""

    tracks: np.ndarray
    segments: list[dict] = field(default_factory=list)
    overlap: float = 0.0
    levels_db: tuple[float, float] = (0.0, 0.0)
    noise_db: tuple[float, float] = (0.0, 0.0)


def _rms_db(x: np.ndarray) -> float:
    loud = x[np.abs(x) > 0.02 * max(float(np.abs(x).max()), 1e-6)]
    return 20 * np.log10(float(np.sqrt(np.mean(loud ** 2))) + 1e-9) if len(loud) else -120.0


def _at_level(clip: np.ndarray, level_db: float) -> np.ndarray:
    clip = clip * 10 ** ((level_db - _rms_db(clip)) / 20)
    peak = float(np.abs(clip).max()) if len(clip) else 0.0
    return clip * (0.95 / peak) if peak > 0.95 else clip


def _sounding(clip: np.ndarray) -> np.ndarray:
    """Per 25 fps frame: does the clip sound there (frame RMS within 25 dB of its loudest)?"""
    frames = len(clip) // SAMPLES_PER_FRAME
    if frames == 0:
        return np.zeros(0, dtype=bool)
    rms = np.sqrt((clip[: frames * SAMPLES_PER_FRAME].reshape(frames, -1) ** 2).mean(axis=1))
    return rms > rms.max() * 10 ** (-25 / 20)


def coloured_noise(rng: np.random.Generator, n: int, level_db: float) -> np.ndarray:
    """Low-passed (brownish-pink) noise at an RMS of ``level_db`` dBFS."""
    x = lfilter([1.0], [1.0, -0.95], rng.standard_normal(n))
    x = x / (x.std() + 1e-12) * 10 ** (level_db / 20)
    return x.astype(np.float32)


def layout(talkers: tuple[Talker, Talker], duration_s: float, rng: np.random.Generator,
           cfg: LayoutConfig | None = None) -> Layout:
    """Lay out a dialogue of ``duration_s`` seconds (rounded to whole 25 fps frames)."""
    cfg = cfg or LayoutConfig()
    frames = int(round(duration_s * SAMPLE_RATE / SAMPLES_PER_FRAME))
    n = frames * SAMPLES_PER_FRAME
    tracks = np.zeros((2, n), dtype=np.float32)
    busy = np.zeros((2, frames), dtype=bool)
    levels = [float(rng.uniform(*cfg.level_db)) for _ in range(2)]
    segments: list[dict] = []
    last_end = [0, 0]                     # where each speaker's last sound ends (samples)
    own_gap = int(0.12 * SAMPLE_RATE)     # nobody overlaps their own speech

    def place(who: int, start: int, clip: np.ndarray, level: float, kind: str) -> int:
        text = getattr(talkers[who], "last_text", None)
        said = getattr(talkers[who], "last_phones", None)
        start = max(start, 0)
        clip = _at_level(clip, level)[: n - start]
        tracks[who, start:start + len(clip)] += clip
        sounding = _sounding(clip)
        f0 = start // SAMPLES_PER_FRAME
        f1 = min(f0 + len(sounding), frames)
        busy[who, f0:f1] |= sounding[: f1 - f0]
        last_end[who] = max(last_end[who], start + len(clip))
        segments.append({"speaker": who + 1, "kind": kind, "start": round(start / SAMPLE_RATE, 3),
                         "end": round((start + len(clip)) / SAMPLE_RATE, 3),
                         **({"text": text} if text else {}),
                         **({"phones": shift(said, start / SAMPLE_RATE)} if said else {})})
        return start + len(clip)

    def overlap_now() -> float:
        anyone = busy.any(axis=0).sum()
        return float(busy.all(axis=0).sum() / anyone) if anyone else 0.0

    t = int(rng.uniform(0.2, 0.8) * SAMPLE_RATE)
    who = int(rng.integers(2))
    sec = lambda a, b: int(rng.uniform(a, b) * SAMPLE_RATE)  # noqa: E731
    turn_len = 0
    while t < n - SAMPLE_RATE:
        count = 2 if rng.random() < cfg.second_utterance_prob else 1
        # Will the partner take the floor overlapping the end of this one? More likely
        # while the realised overlap is below target.
        p_overlap = float(np.clip(0.5 + 4.0 * (cfg.overlap - overlap_now()), 0.05, 0.95))
        overlap_next = rng.random() < p_overlap
        for k in range(count):
            clip = talkers[who].say(rng)
            t = max(t, last_end[who] + own_gap)
            if len(clip) == 0 or t + len(clip) > n:
                t = n
                break
            end = place(who, t, clip,
                        levels[who] + rng.uniform(-cfg.utterance_db, cfg.utterance_db), "turn")
            last = k + 1 == count
            if rng.random() < cfg.backchannel_prob and not (last and overlap_next):
                bc = talkers[1 - who].backchannel(rng)
                if bc is not None and len(bc):
                    # 200-600 ms after the utterance ends, or now and then inside it.
                    if rng.random() < 0.3:
                        bc_start = end - int(rng.uniform(0.2, 0.6) * len(clip))
                    else:
                        bc_start = end + sec(0.2, 0.6)
                    bc_start = max(bc_start, last_end[1 - who] + own_gap)
                    if bc_start + len(bc) < n:
                        place(1 - who, bc_start, bc, levels[1 - who] - 4.0, "backchannel")
            t = end + (0 if last else sec(0.15, 0.5))
            turn_len = len(clip)
        if overlap_next:
            t -= min(sec(*cfg.overlap_s), int(0.5 * turn_len))
        else:
            t += sec(*cfg.gap_s)
        who = 1 - who
    noise = [float(rng.uniform(*cfg.noise_db)) for _ in range(2)]
    for i in range(2):
        tracks[i] += coloured_noise(rng, n, noise[i])
    np.clip(tracks, -1.0, 1.0, out=tracks)
    return Layout(tracks=tracks, segments=segments, overlap=overlap_now(),
                  levels_db=(levels[0], levels[1]), noise_db=(noise[0], noise[1]))


def words_for_seconds(rng: np.random.Generator, lo: float = 1.0, hi: float = 4.0,
                      words_per_s: float = 2.7) -> int:
    """A sentence length in words that speaks for roughly ``lo``-``hi`` seconds."""
    return max(2, int(round(rng.uniform(lo, hi) * words_per_s)))

