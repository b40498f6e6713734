# SPDX-License-Identifier: GPL-3.0-or-later
"""espeak-ng through its C library (Debian's ``libespeak-ng1``, installed with the
``espeak-ng`` package), for the phoneme events the command line does not give.

:func:`speak` returns the samples, for every phoneme its espeak mnemonic and the sample
where it starts (a phoneme ends where the next event begins), and espeak's stress-marked
transcription of the text. The library carries state from one utterance to the next (the
same call gives different samples the second time), so every call runs in a forked child
that loads the library afresh: the corpus stays reproducible sample for sample, whatever
was spoken before in the process.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import pickle
import threading
from dataclasses import dataclass

import numpy as np

from ..errors import TimarError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_RATE, _PITCH = 1, 3


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):         # espeak_EVENT in speak_lib.h
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


@dataclass
class Spoken:
    """Samples (float32 in [-1, 1]) at ``sample_rate``; ``phonemes``: (mnemonic, first
    sample, word index) in order; ``words``: the number of word events."""

    audio: np.ndarray
    sample_rate: int
    phonemes: list[tuple[str, int, int]]
    transcription: str = ""


class _Library:
    def __init__(self) -> None:
        path = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self.lib = ctypes.CDLL(path)
        except OSError:
            raise TimarError("the espeak-ng library (libespeak-ng1) is missing; run .ci/setup") from None
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.sample_rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT)
        if self.sample_rate <= 0:
            raise TimarError("espeak-ng could not start (its data is missing?); run .ci/setup")
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[str, int, int]] = []
        self.word = 0
        self._callback = _CALLBACK(self._on_audio)       # keep a reference: C holds it
        self.lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav, n, events) -> int:
        if n > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).astype(np.float32) / 32768.0)
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            e = events[i]
            if e.type == _EVENT_WORD:
                self.word += 1
            elif e.type == _EVENT_PHONEME:
                name = bytes(e.id.string).split(b"\0")[0].decode("utf-8", "replace")
                self.events.append((name, int(e.sample), self.word))
            i += 1
        return 0


_LOCK = threading.Lock()


def _speak_here(voice: str, text: str, rate: int, pitch: int) -> Spoken:
    lib = _Library()
    if lib.lib.espeak_SetVoiceByName(voice.encode()) != 0:
        raise TimarError(f"espeak-ng has no voice {voice!r}; see `espeak-ng --voices=en`")
    lib.lib.espeak_SetParameter(_RATE, int(rate), 0)
    lib.lib.espeak_SetParameter(_PITCH, int(pitch), 0)
    data = text.encode("utf-8")
    lib.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
    audio = np.concatenate(lib.chunks) if lib.chunks else np.zeros(0, np.float32)
    # The transcription, clause by clause: the library advances the pointer, NULL at the end.
    ptr, parts = ctypes.c_char_p(data), []
    while ptr.value:
        out = lib.lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, 0)
        parts.append(out.decode("utf-8", "replace") if out else "")
    return Spoken(audio, lib.sample_rate, list(lib.events), " ".join(p for p in parts if p))


def speak(voice: str, text: str, rate: int = 175, pitch: int = 50) -> Spoken:
    """Synthesise ``text`` with espeak-ng voice ``voice`` (e.g. 'en-us+f2') in a fresh
    forked child; its result (or its TimarError) comes back through a pipe."""
    with _LOCK:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:                                   # the child: speak, send, exit
            code = 0
            try:
                os.close(read_end)
                try:
                    result: object = _speak_here(voice, text, rate, pitch)
                except TimarError as exc:
                    result = exc
                with os.fdopen(write_end, "wb") as f:
                    pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:                      # noqa: BLE001 - never return into the parent's code
                code = 1
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as f:
            payload = f.read()
        _, status = os.waitpid(pid, 0)
    if not payload or os.waitstatus_to_exitcode(status) != 0:
        raise TimarError(f"espeak-ng crashed speaking {text[:40]!r} with {voice!r}")
    result = pickle.loads(payload)
    if isinstance(result, TimarError):
        raise result
    return result
