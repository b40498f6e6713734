# SPDX-License-Identifier: GPL-3.0-or-later
"""Forced alignment of known text with pocketsphinx (PyPI ``pocketsphinx`` 5.1.1, which
bundles the US English acoustic model and dictionary; fully offline).

Decode once with the text as the grammar (``set_align_text``), then again with
``set_alignment()``; the alignment holds every word with its phones in 10 ms frames. Wide
beams, because the default ones fail on some robotic voices ("Final result does not match
the grammar"). The audio is padded with silence on both sides, which the aligner wants.
"""
from __future__ import annotations

import re
import threading

import numpy as np
from pocketsphinx import Decoder

from ..constants import SAMPLE_RATE
from ..errors import TimarError
from .phones import SILENCE, Phone, arpabet_label, fit, merge_silences

FRAME_S = 0.01
PAD_S = 0.3
_BEAMS = {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80}
_DECODER = None
_LOCK = threading.Lock()


def _decoder():
    global _DECODER
    if _DECODER is None:
        _DECODER = Decoder(samprate=SAMPLE_RATE, lm=None, loglevel="FATAL", **_BEAMS)
    return _DECODER


def words_of(text: str) -> list[str]:
    """Lower-case words of ``text`` as the dictionary spells them ('mm-hm' -> 'mm', 'hm')."""
    return [w for w in re.split(r"[^a-z']+", text.lower()) if w.strip("'")]


def missing_words(text: str) -> list[str]:
    """Words of ``text`` the aligner's dictionary does not know."""
    with _LOCK:
        dec = _decoder()
        return [w for w in words_of(text) if dec.lookup_word(w) is None]


def align(audio: np.ndarray, text: str) -> list[Phone]:
    """The phone timeline of ``audio`` (16 kHz mono float32) saying ``text``, covering the
    audio. Raises TimarError when a word is unknown or the alignment fails."""
    words = words_of(text)
    unknown = missing_words(text)
    if not words or unknown:
        raise TimarError(f"cannot align {text!r}: words not in the dictionary: {unknown}")
    pad = np.zeros(int(PAD_S * SAMPLE_RATE), dtype=np.float32)
    pcm = (np.clip(np.concatenate([pad, audio, pad]), -1, 1) * 32767).astype(np.int16).tobytes()
    with _LOCK:
        dec = _decoder()
        try:
            dec.set_align_text(" ".join(words))
            for second_pass in (False, True):
                if second_pass:
                    # An empty first-pass result means the grammar did not match.
                    hyp = dec.hyp()
                    if hyp is None or not hyp.hypstr.strip():
                        raise TimarError(f"forced alignment failed for {text!r}: "
                                         "the audio does not match the text")
                    dec.set_alignment()
                dec.start_utt()
                dec.process_raw(pcm, full_utt=True)
                dec.end_utt()
            alignment = dec.get_alignment()
        except RuntimeError as exc:
            raise TimarError(f"forced alignment failed for {text!r}: {exc}") from None
        if alignment is None:
            raise TimarError(f"forced alignment failed for {text!r}")
        found = []
        for word in alignment:
            for ph in word:
                try:
                    label, _ = arpabet_label(ph.name)
                except TimarError:            # noise and filler models
                    label = SILENCE
                start = ph.start * FRAME_S - PAD_S
                found.append(Phone(label, start, start + ph.duration * FRAME_S))
    if not any(p.label != SILENCE for p in found):
        raise TimarError(f"forced alignment failed for {text!r}: no phone was placed")
    return fit(merge_silences(found), len(audio) / SAMPLE_RATE)
