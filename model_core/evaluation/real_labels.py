# SPDX-License-Identifier: GPL-3.0-or-later
"""Phone labels for real speech by alignment: cut at pauses, transcribe each piece with
Whisper (or take its known text), force-align the words with pocketsphinx.

The phone loop (:mod:`.phone_loop`) needs no transcript but its labels are noisy (the real
face's own jaw AUC is 0.82 under them on the shared dialogue); aligning the words that were
said gives the labels the issue's 0.85-0.87 was measured with. A piece whose transcript
holds a word pocketsphinx's dictionary lacks, or whose alignment fails, is left unlabelled
(silence) and counted, rather than guessed.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..constants import SAMPLE_RATE
from ..corpus.align import align, missing_words, words_of
from ..corpus.phones import Phone, shift, track_timeline
from ..errors import TimarError
from .pauses import MAX_PIECE_S, Piece, cut_at_pauses

# Whisper writes these; the aligner's dictionary has them spelt out.
_ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "ms": "miss", "dr": "doctor", "st": "saint",
                  "vs": "versus", "ok": "okay", "%": "percent", "&": "and"}
_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
          "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """0-999 in words ('42' -> 'forty two'); larger numbers digit by digit."""
    if n < 20:
        return _UNITS[n]
    if n < 100:
        return _TENS[n // 10 - 2] + ("" if n % 10 == 0 else " " + _UNITS[n % 10])
    if n < 1000:
        rest = n % 100
        return _UNITS[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    return " ".join(_UNITS[int(d)] for d in str(n))


def speakable(text: str) -> str:
    """A transcript as the aligner reads it: numbers and common abbreviations spelt out,
    lower case, punctuation gone (apostrophes kept)."""
    text = re.sub(r"(\d+)", lambda m: f" {number_words(int(m.group(1)))} ", text)
    out = []
    for token in re.split(r"\s+", text.lower().replace("%", " % ").replace("&", " & ")):
        bare = token.strip(".,!?;:\"()[]")
        out.append(_ABBREVIATIONS.get(bare, token))
    return " ".join(words_of(" ".join(out)))


@dataclass
class LabelledPiece:
    """One piece of a recording: where it lies, what was said, its phones (recording time)."""
    start: float
    end: float
    text: str
    phones: list[Phone] = field(default_factory=list)
    problem: str | None = None          # why it is unlabelled, if it is

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "text": self.text,
                "phones": len(self.phones), "problem": self.problem}


def label_piece(audio: np.ndarray, text: str, start: float = 0.0, end: float | None = None
                ) -> LabelledPiece:
    """Align ``text`` to ``audio`` (one piece, 16 kHz); phones shifted by ``start``."""
    end = start + len(audio) / SAMPLE_RATE if end is None else end
    words = speakable(text)
    piece = LabelledPiece(start, end, words)
    if not words:
        piece.problem = "no words"
        return piece
    unknown = missing_words(words)
    if unknown:
        piece.problem = f"not in the dictionary: {' '.join(unknown)}"
        return piece
    try:
        piece.phones = shift(align(audio, words), start)
    except TimarError as exc:
        piece.problem = str(exc)
    return piece


def label_recording(audio: np.ndarray, transcribe: Callable[[np.ndarray], str],
                    max_s: float = MAX_PIECE_S, pieces: list[Piece] | None = None
                    ) -> list[LabelledPiece]:
    """Cut ``audio`` at pauses (or take ``pieces``), transcribe and align every piece."""
    out = []
    for p in cut_at_pauses(audio, max_s) if pieces is None else pieces:
        clip = audio[int(p.start * SAMPLE_RATE):int(p.end * SAMPLE_RATE)]
        out.append(label_piece(clip, transcribe(clip), p.start, p.end))
    return out


def recording_phones(pieces: list[LabelledPiece], duration: float) -> list[Phone]:
    """One timeline over [0, duration]: the labelled pieces' phones, silence elsewhere."""
    return track_timeline([p.phones for p in pieces if p.phones], duration)
