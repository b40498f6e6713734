"""Offline English text-to-speech voices: espeak-ng variants, flite voices and festival.

A :class:`Voice` names an engine, its voice and the speaking style (rate, pitch, and a
resampling factor that shifts pitch and formants together, giving more distinct speakers
from few engines). :func:`synthesize` returns 16 kHz mono float32;
:func:`synthesize_with_phones` also the phone timeline (:mod:`.phones`) of that audio.
"""
from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass

import numpy as np

from ..speech.audio import resample
from ..constants import SAMPLE_RATE
from ..errors import TimarError
from . import engines, phone_offsets, phones
from .phones import Phone

ESPEAK_LANGS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
                "en-us-nyc")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
                   "klatt", "klatt2", "klatt4", "Andy", "Gene", "Lee", "Mr serious",
                   "antonio", "belinda", "benjamin", "edward", "grandma", "iven", "john",
                   "linda", "max", "michel", "paul", "steph", "robert", "quincy")
FLITE_VOICES = ("awb", "rms", "slt", "kal", "kal16")
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker. ``rate``: words per minute (espeak) or duration stretch
    (flite/festival, 1 = default); ``pitch``: espeak pitch 0-99; ``warp``: resampling
    factor applied after synthesis (>1 raises pitch and formants, shortens the audio)."""

    engine: str
    name: str
    rate: float = 1.0
    pitch: int = 50
    warp: float = 1.0

    @property
    def identity(self) -> str:
        """The voice without its style, e.g. 'espeak-ng:en-us+f2'."""
        return f"{self.engine}:{self.name}"

    def as_dict(self) -> dict:
        return asdict(self)


def tool_missing() -> list[str]:
    """Names of the speech synthesisers not installed on this machine."""
    need = {"espeak-ng": "espeak-ng", "flite": "flite", "festival": "festival"}
    return [k for k, exe in need.items() if shutil.which(exe) is None]


def voice_pool() -> list[tuple[str, str]]:
    """Every (engine, voice name) identity the corpus draws speakers from."""
    pool = [("espeak-ng", f"{lang}+{var}") for lang in ESPEAK_LANGS for var in ESPEAK_VARIANTS]
    pool += [("flite", v) for v in FLITE_VOICES]
    pool += [("festival", v) for v in FESTIVAL_VOICES]
    return pool


def corpus_voices(seed: int, espeak_count: int = 32) -> list[tuple[str, str]]:
    """The speaker identities of one corpus: every flite and festival voice and
    ``espeak_count`` espeak-ng language+variant pairs, in a seeded order. Train and test
    draw from this same list."""
    rng = np.random.default_rng([seed, 777])
    espeak = [v for v in voice_pool() if v[0] == "espeak-ng"]
    chosen = [espeak[i] for i in rng.choice(len(espeak), espeak_count, replace=False)]
    others = [v for v in voice_pool() if v[0] != "espeak-ng"]
    pool = chosen + others
    return [pool[i] for i in rng.permutation(len(pool))]


def random_voice(rng: np.random.Generator, identity: tuple[str, str]) -> Voice:
    """``identity`` (engine, name) with a random speaking style."""
    engine, name = identity
    if engine == "espeak-ng":
        return Voice(engine, name, rate=float(rng.integers(135, 185)),
                     pitch=int(rng.integers(25, 75)), warp=round(float(rng.uniform(0.95, 1.05)), 3))
    return Voice(engine, name, rate=round(float(rng.uniform(0.85, 1.15)), 3),
                 warp=round(float(rng.uniform(0.88, 1.12)), 3))


def _engine_phones(voice: Voice, text: str) -> tuple[np.ndarray, list[Phone]]:
    if voice.engine == "espeak-ng":
        return engines.espeak(voice.name, text, int(voice.rate), voice.pitch)
    if voice.engine == "flite":
        return engines.flite(voice.name, text, voice.rate)
    if voice.engine == "festival":
        return engines.festival(voice.name, text, voice.rate)
    raise TimarError(f"unknown speech engine {voice.engine!r}")


def synthesize_with_phones(voice: Voice, text: str, calibrated: bool = True
                           ) -> tuple[np.ndarray, list[Phone]]:
    """Speak ``text`` with ``voice``: 16 kHz mono float32 (leading/trailing silence
    trimmed) and its phone timeline covering exactly that audio. ``calibrated`` shifts the
    engine's boundaries by the voice's measured onset offset (:mod:`.phone_offsets`)."""
    audio, timeline = _engine_phones(voice, text)
    if calibrated:
        timeline = phones.fit(phones.shift(timeline, phone_offsets.offset(voice.identity)),
                              len(audio) / SAMPLE_RATE)
    if voice.warp != 1.0:
        # Play faster/slower: resample to a rate warp times lower, then treat it as 16 kHz.
        n_in = len(audio)
        audio = resample(audio, int(round(SAMPLE_RATE * 100)), int(round(SAMPLE_RATE * 100 / voice.warp)))
        timeline = phones.fit(phones.scale(timeline, len(audio) / max(n_in, 1)), len(audio) / SAMPLE_RATE)
    start, stop = silence_bounds(audio)
    audio = np.ascontiguousarray(audio[start:stop], dtype=np.float32)
    if len(audio) == 0:
        raise TimarError(f"{voice.identity} said nothing for {text!r}")
    timeline = phones.fit(phones.shift(timeline, -start / SAMPLE_RATE), len(audio) / SAMPLE_RATE)
    return audio, timeline


def synthesize(voice: Voice, text: str) -> np.ndarray:
    """Speak ``text`` with ``voice``: 16 kHz mono float32, leading/trailing silence trimmed."""
    return synthesize_with_phones(voice, text, calibrated=False)[0]


def silence_bounds(audio: np.ndarray, threshold: float = 0.01, margin: int = 800) -> tuple[int, int]:
    """[start, stop) of ``audio`` without its leading and trailing samples below
    ``threshold`` of the peak, keeping a margin; (0, 0) for a silent clip."""
    if len(audio) == 0:
        return 0, 0
    loud = np.flatnonzero(np.abs(audio) > threshold * max(float(np.abs(audio).max()), 1e-6))
    if len(loud) == 0:
        return 0, 0
    return max(int(loud[0]) - margin, 0), min(int(loud[-1]) + margin, len(audio))


def trim_silence(audio: np.ndarray, threshold: float = 0.01, margin: int = 800) -> np.ndarray:
    """Cut leading and trailing samples below ``threshold`` of the peak, keeping a margin."""
    start, stop = silence_bounds(audio, threshold, margin)
    return np.ascontiguousarray(audio[start:stop], dtype=np.float32)
