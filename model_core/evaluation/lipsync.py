"""Lip-sync metrics: a head's face frames (T, 67) judged against phone timings, per 25 fps
frame. Pure numpy.

Face frames are the contract of ``model_core.face.channels`` (ARKit-52 weights, then the 15
viseme probabilities). Frame labels come from ``phone_frames.frame_labels`` (the phone at
the frame's centre; p/b/m claim every frame they overlap). Each metric's docstring says
exactly how it is computed; ``score`` runs them all on one head.

Sealed lips: ARKit ``jawOpen - mouthClose <= SEALED_MARGIN`` (``mouthClose`` closes the lips
against an open jaw, so sealed lips with the jaw open mean mouthClose ~= jawOpen). A face
that has only FLAME (``face_from_flame``: mouthClose is always 0) is sealed where its FLAME
jaw opening is at most ``FLAME_SEALED_JAW_RAD``.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..constants import FPS
from ..face.channels import ARKIT_INDEX, VISEMES
from .phone_frames import BILABIALS, as_phones, frame_labels, speech_mask, viseme_ids

SEALED_MARGIN = 0.05            # jawOpen - mouthClose at or below this: lips sealed
CLOSURE_TOLERANCE_S = 0.040     # a closure within 40 ms of a p/b/m counts for it
MAX_LAG_FRAMES = 10

# FLAME jaw opening (rad) at or below which a FLAME-only face counts as sealed. Real FLAME
# fits do not close the jaw to 0 at a bilabial (the lips seal, the jaw stays ~0.1 rad open),
# so the threshold comes from the shared real DualTalk dialogue (speaker 2, real FLAME,
# pocketsphinx phone-loop labels, face 40 ms ahead): the jaw at p/b/m frames has median
# 0.111 rad, at open vowels 0.200; 0.135 rad maximises Youden's J between the two (72% of
# bilabial frames below it, 15% of open-vowel frames). The FLAME jaw is a weak closure
# signal: the real face itself scores recall 0.81 with 72 false closures a minute under
# this rule (docs/LIPSYNC_EVAL.md), the yardstick for any FLAME-only output.
FLAME_SEALED_JAW_RAD = 0.135

OPEN_VOWELS = frozenset({"aa", "ae", "ah", "ao", "aw", "ay"})
ROUNDED = frozenset({"ao", "ow", "oy", "uh", "uw", "w"})     # o, u, w
SPREAD = frozenset({"iy", "ih", "y"})                        # ee, i

_JAW = ARKIT_INDEX["jawOpen"]
_CLOSE = ARKIT_INDEX["mouthClose"]
_ROUND = [ARKIT_INDEX[n] for n in ("mouthPucker", "mouthFunnel")]
_SPREAD = [ARKIT_INDEX[n] for n in ("mouthStretchLeft", "mouthStretchRight",
                                    "mouthSmileLeft", "mouthSmileRight")]


# ------------------------------------------------------------------ signals of a face
def jaw_open(face: np.ndarray) -> np.ndarray:
    """ARKit jawOpen per frame."""
    return np.asarray(face)[:, _JAW]


def sealed_lips(face: np.ndarray) -> np.ndarray:
    """(T,) bool: ``jawOpen - mouthClose <= SEALED_MARGIN``."""
    face = np.asarray(face)
    return face[:, _JAW] - face[:, _CLOSE] <= SEALED_MARGIN


def sealed_from_flame_jaw(jaw_rad: np.ndarray, threshold: float = FLAME_SEALED_JAW_RAD) -> np.ndarray:
    """(T,) bool for a FLAME-only face: jaw opening (rad about x) at most ``threshold``."""
    return np.asarray(jaw_rad) <= threshold


def rounding(face: np.ndarray) -> np.ndarray:
    """mouthPucker + mouthFunnel per frame."""
    return np.asarray(face)[:, _ROUND].sum(axis=1)


def spreading(face: np.ndarray) -> np.ndarray:
    """mouthStretchLeft/Right + mouthSmileLeft/Right per frame."""
    return np.asarray(face)[:, _SPREAD].sum(axis=1)


def predicted_visemes(face: np.ndarray) -> np.ndarray:
    """Argmax of the 15 viseme probabilities per frame."""
    return np.asarray(face)[:, VISEMES].argmax(axis=1)


# ------------------------------------------------------------------ metrics
def viseme_accuracy(face: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of speech frames (label not ``sil``) whose viseme argmax equals the viseme of
    the frame's label. NaN without speech frames. With pocketsphinx's labels as ``labels``
    this is the agreement with pocketsphinx."""
    speech = speech_mask(labels)
    if not speech.any():
        return float("nan")
    return float((predicted_visemes(face)[speech] == viseme_ids(labels)[speech]).mean())


def _bilabial_windows(phones, tolerance: float) -> list[tuple[float, float]]:
    return [(s.start - tolerance, s.end + tolerance) for s in as_phones(phones)
            if s.label in BILABIALS]


def closure_recall(sealed: np.ndarray, phones: Iterable, fps: float = FPS,
                   tolerance: float = CLOSURE_TOLERANCE_S) -> float:
    """Fraction of p/b/m phones with sealed lips nearby: a bilabial [start, end] counts as
    closed if any frame whose centre lies in [start - tolerance, end + tolerance] is sealed.
    NaN without bilabials."""
    sealed = np.asarray(sealed, dtype=bool)
    centres = (np.arange(len(sealed)) + 0.5) / fps
    windows = _bilabial_windows(phones, tolerance)
    if not windows:
        return float("nan")
    hits = [bool(sealed[(centres >= a) & (centres <= b)].any()) for a, b in windows]
    return float(np.mean(hits))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[first, last) index pairs of the runs of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2], edges[1::2]))


def false_closures_per_minute(sealed: np.ndarray, phones: Iterable, fps: float = FPS,
                              tolerance: float = CLOSURE_TOLERANCE_S) -> float:
    """Sealed-lip runs during speech that no p/b/m explains, per minute of speech.

    Speech frames are those whose label (``frame_labels``) is not ``sil``. A run is a maximal
    stretch of consecutive sealed speech frames; it is false unless one of its frame centres
    lies within ``tolerance`` of a p/b/m (inside [start - tolerance, end + tolerance]). The
    count is divided by the speech frames' duration in minutes; NaN without speech."""
    phones = as_phones(phones)
    sealed = np.asarray(sealed, dtype=bool)
    labels = frame_labels(phones, len(sealed), fps)
    speech = speech_mask(labels)
    if not speech.any():
        return float("nan")
    centres = (np.arange(len(sealed)) + 0.5) / fps
    near = np.zeros(len(sealed), dtype=bool)
    for a, b in _bilabial_windows(phones, tolerance):
        near |= (centres >= a) & (centres <= b)
    false_runs = sum(1 for i, j in _runs(sealed & speech) if not near[i:j].any())
    return float(false_runs / (speech.sum() / fps / 60.0))


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a positive score exceeds a negative one, ties counting half (the
    Mann-Whitney U over n_pos * n_neg). NaN when either side is empty."""
    pos = np.asarray(positive, dtype=np.float64).ravel()
    neg = np.asarray(negative, dtype=np.float64).ravel()
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    scores = np.concatenate([pos, neg])
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    mean_rank = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(mean_rank, counts)
    u = ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2.0
    return float(u / (len(pos) * len(neg)))


def _aligned(signal: np.ndarray, labels: np.ndarray, lead: int) -> tuple[np.ndarray, np.ndarray]:
    """signal[t] paired with labels[t + lead]: ``lead`` frames of the face ahead of the sound."""
    signal, labels = np.asarray(signal), np.asarray(labels)
    n = min(len(signal), len(labels))
    signal, labels = signal[:n], labels[:n]
    if lead > 0:
        return signal[:-lead], labels[lead:]
    if lead < 0:
        return signal[-lead:], labels[:lead]
    return signal, labels


def _group_auc(signal, labels, positive: frozenset, negative: frozenset, lead: int) -> float:
    signal, labels = _aligned(signal, labels, lead)
    pos = np.array([l in positive for l in labels], dtype=bool)
    neg = np.array([l in negative for l in labels], dtype=bool)
    return auc(signal[pos], signal[neg])


def jaw_auc(jaw: np.ndarray, labels: np.ndarray, lead: int = 0) -> float:
    """AUC of the jaw opening at open-vowel frames (aa ae ah ao aw ay) against p/b/m frames:
    1 when every open vowel's jaw is wider than every bilabial's, 0.5 for chance. ``jaw`` is
    any opening signal (ARKit jawOpen or FLAME radians); ``lead`` frames: jaw[t] is paired
    with labels[t + lead] (the face ahead of the sound)."""
    return _group_auc(jaw, labels, OPEN_VOWELS, BILABIALS, lead)


def rounding_auc(face: np.ndarray, labels: np.ndarray, lead: int = 0) -> float:
    """AUC of mouthPucker + mouthFunnel at rounded frames (ao ow oy uh uw w) against spread
    ones (iy ih y). A face without those channels (all equal) scores 0.5."""
    return _group_auc(rounding(face), labels, ROUNDED, SPREAD, lead)


def spreading_auc(face: np.ndarray, labels: np.ndarray, lead: int = 0) -> float:
    """AUC of mouthStretch + mouthSmile (left and right) at spread frames (iy ih y) against
    rounded ones (ao ow oy uh uw w)."""
    return _group_auc(spreading(face), labels, SPREAD, ROUNDED, lead)


def best_lag(face: np.ndarray, labels: np.ndarray,
             max_lag: int = MAX_LAG_FRAMES) -> tuple[int, float]:
    """(lag, agreement): the shift in frames, -max_lag..+max_lag, at which the predicted
    viseme argmax agrees best with the labels' visemes over the labels' speech frames:
    agreement(lag) = mean over speech frames t (with t + lag inside) of
    [predicted[t + lag] == label_viseme[t]]. Positive lag: the face comes late; negative:
    it leads the sound. Ties go to the smallest |lag|. (0, NaN) without speech."""
    predicted = predicted_visemes(face)
    truth = viseme_ids(labels)
    speech = speech_mask(labels)
    n = min(len(predicted), len(truth))
    best = (0, float("nan"))
    for lag in sorted(range(-max_lag, max_lag + 1), key=abs):
        t = np.arange(n)
        t = t[speech[:n] & (t + lag >= 0) & (t + lag < n)]
        if len(t) == 0:
            continue
        agreement = float((predicted[t + lag] == truth[t]).mean())
        if np.isnan(best[1]) or agreement > best[1]:
            best = (lag, agreement)
    return best


def silent_mouth(face: np.ndarray, labels: np.ndarray, sealed: np.ndarray) -> dict[str, float]:
    """The mouth while the head's own track is silent (label ``sil``; for a listener, every
    frame): mean ARKit jawOpen and the fraction of sealed frames. NaN without such frames."""
    silent = ~speech_mask(labels)
    n = min(len(silent), len(face))
    silent = silent[:n]
    if not silent.any():
        return {"jaw_open": float("nan"), "sealed_fraction": float("nan")}
    return {"jaw_open": float(jaw_open(face)[:n][silent].mean()),
            "sealed_fraction": float(np.asarray(sealed)[:n][silent].mean())}


def jaw_auc_vs_reference(jaw: np.ndarray, reference_jaw: np.ndarray,
                         mask: np.ndarray | None = None) -> float:
    """AUC of a jaw signal at the reference's open frames against its closed frames: over the
    frames of ``mask`` (all when None), the reference's top third of jaw opening is "open"
    and its bottom third "closed". 1: our jaw opens exactly where the real face does."""
    n = min(len(jaw), len(reference_jaw))
    jaw, ref = np.asarray(jaw)[:n], np.asarray(reference_jaw)[:n]
    keep = np.ones(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)[:n]
    if keep.sum() < 3:
        return float("nan")
    low, high = np.quantile(ref[keep], [1 / 3, 2 / 3])
    return auc(jaw[keep & (ref >= high)], jaw[keep & (ref <= low)])


# ------------------------------------------------------------------ all of them
def score(face: np.ndarray, phones: Iterable, *, sealed: np.ndarray | None = None,
          jaw: np.ndarray | None = None, fps: float = FPS, lead: int = 0) -> dict[str, float]:
    """Every per-head metric of one utterance. ``sealed`` defaults to ``sealed_lips(face)``,
    ``jaw`` to ARKit jawOpen; pass FLAME-based ones for a FLAME-only face."""
    face = np.asarray(face, dtype=np.float32)
    phones = as_phones(phones)
    labels = frame_labels(phones, len(face), fps)
    sealed = sealed_lips(face) if sealed is None else np.asarray(sealed, dtype=bool)
    jaw = jaw_open(face) if jaw is None else np.asarray(jaw)
    lag, agreement = best_lag(face, labels)
    speech = speech_mask(labels)
    return {
        "viseme_accuracy": viseme_accuracy(face, labels),
        "closure_recall": closure_recall(sealed, phones, fps),
        "false_closures_per_min": false_closures_per_minute(sealed, phones, fps),
        "jaw_auc": jaw_auc(jaw, labels, lead),
        "rounding_auc": rounding_auc(face, labels, lead),
        "spreading_auc": spreading_auc(face, labels, lead),
        "best_lag_frames": float(lag),
        "best_lag_agreement": agreement,
        "speech_frames": float(speech.sum()),
        "bilabials": float(sum(s.label in BILABIALS for s in phones)),
    }

