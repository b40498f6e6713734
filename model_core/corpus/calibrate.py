# SPDX-License-Identifier: GPL-3.0-or-later
"""Measure each voice's phone-boundary offset against pocketsphinx forced alignment and
write the table :mod:`.phone_offsets` reads.

Per voice, sentences from the corpus grammar are synthesised (default style, no warp) and
aligned. Boundaries are compared where both timelines agree on the two phones around them
(label sequences matched with difflib; boundaries next to a pause are left out because the
aligner may not place a pause where the engine did). The first half of the sentences gives
the voice's offset (median of aligned - engine); the second half, never used for fitting,
gives the error figures before and after the shift.
"""
from __future__ import annotations

import difflib
import time

import numpy as np

from ..errors import TimarError
from . import align as aligner
from .phones import SILENCE, Phone
from .text import Sentences
from .voices import ESPEAK_LANGS, FESTIVAL_VOICES, FLITE_VOICES, Voice, synthesize_with_phones

ESPEAK_CALIBRATION_VARIANTS = ("m3", "f2", "klatt")
ESPEAK_RATE = 160
WITHIN_S = 0.040


def calibration_voices() -> list[tuple[str, list[Voice]]]:
    """(table key, voices measured for it): each flite and festival voice, and each
    espeak-ng accent over a few variants (variants share the accent's timing)."""
    out = [(f"flite:{v}", [Voice("flite", v)]) for v in FLITE_VOICES]
    out += [(f"festival:{v}", [Voice("festival", v)]) for v in FESTIVAL_VOICES]
    out += [(f"espeak-ng:{lang}", [Voice("espeak-ng", f"{lang}+{var}", rate=ESPEAK_RATE)
                                   for var in ESPEAK_CALIBRATION_VARIANTS])
            for lang in ESPEAK_LANGS]
    return out


def boundary_pairs(engine: list[Phone], aligned: list[Phone]) -> list[tuple[float, float]]:
    """(engine time, aligned time) of every boundary between two speech phones that both
    timelines agree on."""
    a = [p.label for p in engine]
    b = [p.label for p in aligned]
    pairs = []
    for block in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks():
        for k in range(block.size - 1):
            i, j = block.a + k, block.b + k
            if SILENCE not in (a[i], a[i + 1]):
                pairs.append((engine[i].end, aligned[j].end))
    return pairs


def measure(voices: list[Voice], texts: list[str]) -> tuple[list[tuple[float, float]], int]:
    """Boundary pairs of ``voices`` speaking ``texts``, and the number of failed alignments."""
    pairs, failed = [], 0
    for i, text in enumerate(texts):
        voice = voices[i % len(voices)]
        audio, engine = synthesize_with_phones(voice, text, calibrated=False)
        try:
            aligned = aligner.align(audio, text)
        except TimarError:
            failed += 1
            continue
        pairs += boundary_pairs(engine, aligned)
    return pairs, failed


def error_figures(pairs: list[tuple[float, float]], shift_s: float) -> dict:
    if not pairs:
        return {"boundaries": 0}
    err = np.abs(np.array([b - (a + shift_s) for a, b in pairs]))
    return {"boundaries": len(pairs), "median_ms": round(float(np.median(err)) * 1000, 1),
            "within_40ms": round(float(np.mean(err <= WITHIN_S)), 4)}


def sentences(seed: int, n: int) -> list[str]:
    """``n`` corpus sentences whose words the aligner knows."""
    gen, out = Sentences(np.random.default_rng([seed, 4242])), []
    while len(out) < n:
        text = gen.utterance(int(gen.rng.integers(5, 13)))
        if not aligner.missing_words(text):
            out.append(text)
    return out


def calibrate(sentences_per_voice: int = 16, seed: int = 0, command: str = "",
              progress=print) -> dict:
    """The offset table: per voice key its offset and held-out error before/after, per
    engine the median offset and pooled figures."""
    t0 = time.time()
    voices, by_engine = {}, {}
    for key, members in calibration_voices():
        texts = sentences(seed + len(voices), sentences_per_voice)
        half = len(texts) // 2
        fit_pairs, fit_failed = measure(members, texts[:half])
        test_pairs, test_failed = measure(members, texts[half:])
        if not fit_pairs:
            progress(f"[phones] {key}: no boundary could be aligned, left out")
            continue
        offset = float(np.median([b - a for a, b in fit_pairs]))
        voices[key] = {"offset_s": round(offset, 4), "fit_boundaries": len(fit_pairs),
                       "failed_alignments": fit_failed + test_failed,
                       "held_out_raw": error_figures(test_pairs, 0.0),
                       "held_out_calibrated": error_figures(test_pairs, offset)}
        by_engine.setdefault(key.split(":")[0], []).append((offset, test_pairs))
        progress(f"[phones] {key}: offset {offset * 1000:+.1f} ms, held out "
                 f"{voices[key]['held_out_raw']} -> {voices[key]['held_out_calibrated']}")
    engines = {}
    for engine, items in by_engine.items():
        raw = [p for _, ps in items for p in ps]
        shifted = [(a + off, b) for off, ps in items for a, b in ps]
        engines[engine] = {"offset_s": round(float(np.median([o for o, _ in items])), 4),
                           "held_out_raw": error_figures(raw, 0.0),
                           "held_out_calibrated": error_figures(shifted, 0.0)}
    return {"what": "per-voice onset offsets of engine phone boundaries vs pocketsphinx "
                    "5.1.1 forced alignment (seconds to add; see phone_offsets.py)",
            "command": command, "seed": seed, "sentences_per_voice": sentences_per_voice,
            "seconds": round(time.time() - t0, 1), "engines": engines, "voices": voices}
