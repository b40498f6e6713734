# SPDX-License-Identifier: GPL-3.0-or-later
"""Phone timelines: what was said when, in ARPAbet.

A :class:`Phone` is one segment of speech: its label in lower-case ARPAbet without the
stress digit (CMU's 39 phones, plus ``sil`` for silence and pauses), its start and end in
seconds from the start of the audio, and for vowels the lexical stress (0 none, 1 primary,
2 secondary) where the engine knows it. A timeline is a list of phones ordered in time,
without gaps or overlaps, that covers the audio (see :func:`check_timeline`).

The speech engines that produce timelines with their audio are in :mod:`.engines`; the
entry point is :func:`model_core.corpus.voices.synthesize_with_phones`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np

from ..errors import TimarError

VOWELS = ("aa", "ae", "ah", "ao", "aw", "ay", "eh", "er", "ey", "ih", "iy", "ow", "oy",
          "uh", "uw")
CONSONANTS = ("b", "ch", "d", "dh", "f", "g", "hh", "jh", "k", "l", "m", "n", "ng", "p",
              "r", "s", "sh", "t", "th", "v", "w", "y", "z", "zh")
SILENCE = "sil"
ARPABET = VOWELS + CONSONANTS + (SILENCE,)
BILABIALS = ("p", "b", "m")

# Boundaries may disagree with the audio length by this much (engines round to ms).
LENGTH_TOLERANCE_S = 0.002


@dataclass(frozen=True)
class Phone:
    """One phone: ``label`` (lower-case ARPAbet or 'sil'), ``start``/``end`` in seconds,
    ``stress`` 0/1/2 for vowels when known, else None."""

    label: str
    start: float
    end: float
    stress: int | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start

    def as_dict(self) -> dict:
        d = {"label": self.label, "start": round(self.start, 5), "end": round(self.end, 5)}
        if self.stress is not None:
            d["stress"] = self.stress
        return d


def arpabet_label(raw: str) -> tuple[str, int | None]:
    """'AA1' / 'aa' / 'pau' / 'SIL' -> ('aa', 1) / ('aa', None) / ('sil', None)."""
    s = raw.strip().lower()
    stress = None
    if s and s[-1] in "012":
        stress, s = int(s[-1]), s[:-1]
    if s in ("pau", "sil", "h#", "sp", "ssil", "brth", "_"):
        return SILENCE, None
    if s == "ax":                      # festival's schwa
        s = "ah"
    if s not in ARPABET:
        raise TimarError(f"unknown phone {raw!r}: not an ARPAbet phone; extend the engine's map")
    return s, (stress if s in VOWELS else None)


def from_ends(labels: list[tuple[str, int | None]], ends: list[float], start: float = 0.0) -> list[Phone]:
    """Phones from consecutive end times (the first starts at ``start``)."""
    out, t = [], start
    for (label, stress), end in zip(labels, ends):
        out.append(Phone(label, t, max(float(end), t), stress))
        t = max(float(end), t)
    return out


def merge_silences(phones: list[Phone]) -> list[Phone]:
    """Join neighbouring silences and drop zero-length phones."""
    out: list[Phone] = []
    for p in phones:
        if p.end <= p.start:
            continue
        if out and p.label == SILENCE and out[-1].label == SILENCE:
            out[-1] = replace(out[-1], end=p.end)
        else:
            out.append(p)
    return out


def scale(phones: list[Phone], factor: float) -> list[Phone]:
    """Multiply every time by ``factor`` (audio played ``1/factor`` times as fast)."""
    return [replace(p, start=p.start * factor, end=p.end * factor) for p in phones]


def shift(phones: list[Phone], seconds: float) -> list[Phone]:
    return [replace(p, start=p.start + seconds, end=p.end + seconds) for p in phones]


def fit(phones: list[Phone], duration: float) -> list[Phone]:
    """Clip the timeline to [0, duration] and pad it with silence to cover exactly that:
    the first phone starts at 0, the last ends at ``duration``."""
    out = []
    for p in phones:
        s, e = min(max(p.start, 0.0), duration), min(max(p.end, 0.0), duration)
        if e > s:
            out.append(replace(p, start=s, end=e))
    if not out or out[0].start > 0:
        out.insert(0, Phone(SILENCE, 0.0, out[0].start if out else duration))
    if out[-1].end < duration:
        out.append(Phone(SILENCE, out[-1].end, duration))
    # Close the small gaps that rounding leaves between neighbours.
    out = [replace(p, start=out[i - 1].end) if i else p for i, p in enumerate(out)]
    return merge_silences(out)


def track_timeline(pieces: list[list[Phone]], duration: float) -> list[Phone]:
    """One timeline covering [0, duration] from utterance timelines placed on a track
    (each already in track time): silence between them; where one starts before the
    previous ends, the earlier one is cut there."""
    merged: list[Phone] = []
    for piece in sorted((p for p in pieces if p), key=lambda p: p[0].start):
        while merged and merged[-1].start >= piece[0].start:
            merged.pop()
        if merged and merged[-1].end > piece[0].start:
            merged[-1] = replace(merged[-1], end=piece[0].start)
        if merged and merged[-1].end < piece[0].start:
            merged.append(Phone(SILENCE, merged[-1].end, piece[0].start))
        merged.extend(piece)
    return fit(merged, duration)


def check_timeline(phones: list[Phone], duration: float) -> None:
    """Raise TimarError unless ``phones`` are known labels, ordered, without gaps or
    overlaps, and cover [0, duration]."""
    if not phones:
        raise TimarError("empty phone timeline")
    bad = [p.label for p in phones if p.label not in ARPABET]
    if bad:
        raise TimarError(f"phone labels outside ARPAbet: {bad[:5]}")
    if abs(phones[0].start) > LENGTH_TOLERANCE_S or abs(phones[-1].end - duration) > LENGTH_TOLERANCE_S:
        raise TimarError(f"phones cover {phones[0].start:.3f}-{phones[-1].end:.3f} s, "
                         f"the audio 0-{duration:.3f} s")
    for a, b in zip(phones, phones[1:]):
        if abs(a.end - b.start) > 1e-6 or b.end < b.start:
            raise TimarError(f"phones out of order or overlapping at {a.end:.3f} s")


def to_arrays(phones: list[Phone]) -> dict[str, np.ndarray]:
    """Columns for an npz: labels (str), starts, ends (float32 s), stress (int8, -1 = none)."""
    return {"labels": np.array([p.label for p in phones], dtype="<U3"),
            "starts": np.array([p.start for p in phones], dtype=np.float32),
            "ends": np.array([p.end for p in phones], dtype=np.float32),
            "stress": np.array([-1 if p.stress is None else p.stress for p in phones], dtype=np.int8)}


def to_json(phones: list[Phone], **extra) -> str:
    return json.dumps({**extra, "phones": [p.as_dict() for p in phones]}, indent=0)


def read_json(path: str) -> list[Phone]:
    with open(path) as f:
        data = json.load(f)
    return [Phone(d["label"], float(d["start"]), float(d["end"]), d.get("stress"))
            for d in data["phones"]]
