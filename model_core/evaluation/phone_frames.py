"""Phone timings -> one label per 25 fps frame, the ground truth of the lip-sync metrics.

Phones come as (label, start, end) tuples (seconds) or as objects with ``label``, ``start``
and ``end`` attributes (``model_core.corpus.phones.Phone``). Labels are normalised to lower
case ARPAbet without the stress digit; pauses and anything the viseme table does not know
(``pau``, ``SIL``, ``+NSN+``, ``h#``) become ``sil``; TIMIT-style symbols (``ax``, ``dx``)
become their ARPAbet phones.

A frame's label is the phone covering its centre. A bilabial (p, b, m) also claims every
frame it overlaps at all: the lips are sealed somewhere inside that frame, and 4% of TTS
bilabials hold no frame centre, so a centre-only rule would lose them.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ..constants import FPS
from ..errors import TimarError
from ..face.channels import VISEME_INDEX
from ..face.visemes import PHONE_TO_VISEME

BILABIALS = frozenset({"p", "b", "m"})
SIL = "sil"
# Symbols of TIMIT-style sets (flite, festival) that CMU ARPAbet spells otherwise.
ALIASES = {"ax": "ah", "axr": "er", "ix": "ih", "ux": "uw", "dx": "d", "nx": "n",
           "el": "l", "em": "m", "en": "n", "hv": "hh"}


class PhoneSpan(NamedTuple):
    label: str      # ARPAbet, lower case, no stress digit; "sil" for pauses
    start: float    # seconds
    end: float


class PhoneFileError(TimarError):
    """A phones file that cannot be read."""


def normalise_label(label: str) -> str:
    """``AH0`` -> ``ah``; pauses and unknown symbols -> ``sil``."""
    name = re.sub(r"\d+$", "", str(label).strip().lower())
    name = ALIASES.get(name, name)
    return name if name in PHONE_TO_VISEME else SIL


def as_phones(phones: Iterable) -> list[PhoneSpan]:
    """Tuples or objects with label/start/end -> PhoneSpans sorted by start, labels normalised."""
    spans = []
    for p in phones:
        if hasattr(p, "label"):
            label, start, end = p.label, p.start, p.end
        else:
            label, start, end = p
        start, end = float(start), float(end)
        if not end >= start >= 0.0:
            raise TimarError(f"phone {label!r}: start {start} and end {end} must satisfy "
                             "0 <= start <= end (seconds)")
        spans.append(PhoneSpan(normalise_label(label), start, end))
    return sorted(spans, key=lambda s: s.start)


def read_phones_json(path: str | os.PathLike) -> list[PhoneSpan]:
    """A JSON list of [label, start, end] (seconds), or of {"label", "start", "end"} objects,
    or an object holding such a list under "phones" (the utterance corpus writes that)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if isinstance(data, dict):
            data = data["phones"]
        rows = [(d["label"], d["start"], d["end"]) if isinstance(d, dict) else tuple(d)
                for d in data]
        return as_phones(rows)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PhoneFileError(f"{path}: not a phones file; write a JSON list of "
                             f"[label, start_s, end_s] ({exc})") from None


def frame_labels(phones: Iterable, n_frames: int, fps: float = FPS) -> np.ndarray:
    """(n_frames,) phone label per frame: the phone at the frame's centre (``sil`` where no
    phone covers it), then every frame a p/b/m overlaps takes that bilabial."""
    spans = as_phones(phones)
    labels = np.full(n_frames, SIL, dtype=object)
    centres = (np.arange(n_frames) + 0.5) / fps
    for s in spans:
        labels[(centres >= s.start) & (centres < s.end)] = s.label
    for s in spans:
        if s.label in BILABIALS and s.end > s.start:
            first = int(np.floor(s.start * fps))
            last = int(np.ceil(s.end * fps))      # exclusive
            labels[max(first, 0):min(last, n_frames)] = s.label
    return labels


def viseme_ids(labels: np.ndarray) -> np.ndarray:
    """Phone labels -> indices into ``VISEME_NAMES``."""
    return np.array([VISEME_INDEX[PHONE_TO_VISEME.get(str(l), SIL)] for l in labels],
                    dtype=np.int64)


def speech_mask(labels: np.ndarray) -> np.ndarray:
    """Frames whose label is a phone, not a pause."""
    return np.asarray(labels) != SIL
