"""The lip-sync teacher: a phone timeline -> per-frame ARKit-52 mouth weights and viseme
probabilities at 25 fps, the targets the mouth model learns.

Coarticulation follows dominance functions (Cohen and Massaro): every phone segment pulls
each group of channels (jaw, rounding, closure, other lip shapes, tongue) towards its
viseme's target with a strength that falls off as exp(-(d / reach)^2) with the distance d
from the segment, and a channel's value is the dominance-weighted mean of all targets. Rounded vowels
reach 150-200 ms ahead across consonants; tongue consonants leave the lips to their
neighbours; bilabials hold the closure hard. Curves are computed on a 5 ms grid, then
sampled to 25 fps: closure channels by each frame's maximum (4% of bilabials hold no frame
centre), the rest by the frame's mean. Every frame that overlaps a p/b/m is sealed:
``mouthClose`` equals ``jawOpen`` (ARKit's closed lips over an open jaw), the jaw takes its
lowest value inside the closure and the lips press. The jaw opens with vowel height and
stress, never with loudness, and a silent track rests with a closed mouth.
"""
from __future__ import annotations

import numpy as np

from ..constants import FPS
from ..face.channels import ARKIT, ARKIT_DIM, FACE_DIM, VISEME_DIM, VISEMES
from ..face.visemes import (BILABIALS, GROUPS, JAW_OPEN, LIP_CLOSURE, VISEME_SHAPES, VOWELS,
                            channel_groups, dominance_table, part_lips, seal_lips, viseme_id)

SUBSTEPS = 8                       # 5 ms grid: 8 samples per 40 ms frame
STRESS_JAW = {1: 1.0, 2: 0.85, 0: 0.65}     # a vowel's jaw target by lexical stress
MARGIN_S = 1.0                     # segments further than this from a block are ignored
BLOCK_FRAMES = 750                 # curves are computed 30 s at a time (bounded memory)

_STRENGTH, _REACH = dominance_table()
_GROUP_OF = channel_groups()


def _fields(phone):
    """(label, start, end, stress) of a Phone-like object, a dict or a tuple."""
    if isinstance(phone, dict):
        return str(phone["label"]).lower(), float(phone["start"]), float(phone["end"]), \
            phone.get("stress")
    if isinstance(phone, (tuple, list)):
        label, start, end = phone[:3]
        stress = phone[3] if len(phone) > 3 else None
    else:
        label, start, end = phone.label, phone.start, phone.end
        stress = getattr(phone, "stress", None)
    return str(label).lower(), float(start), float(end), stress


def segments(phones, duration_s: float):
    """Phones as arrays (start, end, viseme id, jaw gain, is bilabial), gaps filled with
    silence from 0 to ``duration_s``."""
    rows, t = [], 0.0
    for phone in sorted((_fields(p) for p in phones), key=lambda f: f[1]):
        label, start, end, stress = phone
        start, end = max(start, t), min(end, duration_s)
        if end <= start:
            continue
        if start > t + 1e-6:
            rows.append((t, start, viseme_id("sil"), 1.0, False))
        base = label.rstrip("012")
        gain = STRESS_JAW.get(stress if stress is not None else 1, 1.0) if base in VOWELS else 1.0
        rows.append((start, end, viseme_id(base), gain, base in BILABIALS))
        t = end
    if duration_s > t + 1e-6:
        rows.append((t, duration_s, viseme_id("sil"), 1.0, False))
    if not rows:
        rows.append((0.0, max(duration_s, 1e-3), viseme_id("sil"), 1.0, False))
    start, end, vis, gain, bil = (np.array(c) for c in zip(*rows))
    return start.astype(np.float64), end.astype(np.float64), vis.astype(np.int64), \
        gain.astype(np.float64), bil.astype(bool)


def _curves(times: np.ndarray, seg) -> np.ndarray:
    """(len(times), 52) coarticulated ARKit curves at ``times`` (seconds)."""
    start, end, vis, gain, _ = seg
    near = (end > times[0] - MARGIN_S) & (start < times[-1] + MARGIN_S)
    start, end, vis, gain = start[near], end[near], vis[near], gain[near]
    targets = VISEME_SHAPES[vis].astype(np.float64)                     # (S, 52)
    targets[:, JAW_OPEN] *= gain
    dist = np.maximum(0.0, np.maximum(start[:, None] - times[None], times[None] - end[:, None]))
    out = np.zeros((len(times), ARKIT_DIM))
    for g in range(len(GROUPS)):
        channels = np.flatnonzero(_GROUP_OF == g)
        weight = _STRENGTH[vis, g][:, None] * np.exp(-np.square(dist / _REACH[vis, g][:, None]))   # (S, T)
        weight += 1e-12
        out[:, channels] = (weight.T @ targets[:, channels]) / weight.sum(0)[:, None]
    return out


def teach(phones, n_frames: int) -> np.ndarray:
    """(n_frames, 67) face frames (ARKit-52 then 15 viseme probabilities) for one speaker's
    track of ``n_frames`` 25 fps frames whose phones are ``phones`` (Phone objects or
    (label, start, end[, stress]) tuples, seconds; gaps are silence)."""
    duration = n_frames / FPS
    seg = segments(phones, duration)
    face = np.zeros((n_frames, FACE_DIM), dtype=np.float32)
    closure = list(LIP_CLOSURE)
    for f0 in range(0, n_frames, BLOCK_FRAMES):
        f1 = min(n_frames, f0 + BLOCK_FRAMES)
        times = (np.arange(f0 * SUBSTEPS, f1 * SUBSTEPS) + 0.5) / (FPS * SUBSTEPS)
        fine = _curves(times, seg).reshape(f1 - f0, SUBSTEPS, ARKIT_DIM)
        block = fine.mean(1)
        block[:, closure] = fine[:, :, closure].max(1)
        face[f0:f1, ARKIT] = block
    _part_lips(face, seg, n_frames)
    _seal_bilabials(face, seg, n_frames)
    face[:, VISEMES] = viseme_probabilities(seg, n_frames)
    np.clip(face, 0.0, 1.0, out=face)
    return face


def _part_lips(face: np.ndarray, seg, n_frames: int) -> None:
    """Part the lips on every frame whose centre is in a phone other than p/b/m or silence:
    the coarticulated jaw can sink to a closed mouth where an "s" or "er" follows silence
    (the silence rest pulls it to 0), which reads as a closure no bilabial explains (the
    teacher itself made 10 such closures a minute). Teeth together, lips apart: the jaw's
    floor is ``face.visemes.PARTED_MIN`` above ``mouthClose``."""
    start, end, vis, _, bil = seg
    centres = (np.arange(n_frames) + 0.5) / FPS
    at = np.clip(np.searchsorted(start, centres, side="right") - 1, 0, len(start) - 1)
    speech = (vis[at] != viseme_id("sil")) & ~bil[at] & (centres < end[at])
    part_lips(face[:, ARKIT], np.flatnonzero(speech))


def _seal_bilabials(face: np.ndarray, seg, n_frames: int) -> None:
    """Seal every frame that overlaps a p/b/m (``face.visemes.seal_lips``)."""
    start, end, _, _, bil = seg
    frames = [f for s, e in zip(start[bil], end[bil])
              for f in range(max(0, int(np.floor(s * FPS))), min(n_frames, int(np.ceil(e * FPS))))]
    seal_lips(face[:, ARKIT], np.unique(np.array(frames, dtype=np.int64)))


def viseme_probabilities(seg, n_frames: int) -> np.ndarray:
    """(n_frames, 15): the share of each frame each viseme covers; a frame that overlaps a
    bilabial at all gives PP at least 0.6."""
    start, end, vis, _, bil = seg
    lo = np.arange(n_frames) / FPS
    hi = lo + 1.0 / FPS
    probs = np.zeros((n_frames, VISEME_DIM))
    touches_bilabial = np.zeros(n_frames, dtype=bool)
    for s, e, v, b in zip(start, end, vis, bil):
        first, last = max(0, int(np.floor(s * FPS))), min(n_frames - 1, int(np.ceil(e * FPS)) - 1)
        if last < first:
            continue
        span = slice(first, last + 1)
        overlap = np.minimum(hi[span], e) - np.maximum(lo[span], s)
        probs[span, v] += np.maximum(overlap, 0.0) * FPS
        touches_bilabial[span] |= b
    pp = viseme_id("p")
    others = probs.sum(1) - probs[:, pp]
    probs[touches_bilabial, pp] = np.maximum(probs[touches_bilabial, pp],
                                             1.5 * others[touches_bilabial])   # PP >= 0.6
    total = probs.sum(1, keepdims=True)
    probs = np.where(total > 0, probs / np.maximum(total, 1e-12), 0.0)
    probs[total[:, 0] <= 0, viseme_id("sil")] = 1.0
    return probs.astype(np.float32)
