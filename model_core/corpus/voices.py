"""Offline English text-to-speech voices: espeak-ng variants, flite voices and festival.

A :class:`Voice` names an engine, its voice and the speaking style (rate, pitch, and a
resampling factor that shifts pitch and formants together, giving more distinct speakers
from few engines). :func:`synthesize` returns 16 kHz mono float32.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass

import numpy as np
import soundfile as sf

from ..audio import resample
from ..constants import SAMPLE_RATE
from ..errors import TimarError

ESPEAK_LANGS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
                "en-us-nyc")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
                   "klatt", "klatt2", "klatt4", "Andy", "Gene", "Lee", "Mr serious",
                   "antonio", "belinda", "benjamin", "edward", "grandma", "iven", "john",
                   "linda", "max", "michel", "paul", "steph", "robert", "quincy")
FLITE_VOICES = ("awb", "rms", "slt", "kal", "kal16")
FESTIVAL_VOICES = ("kal_diphone",)


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
    need = {"espeak-ng": "espeak-ng", "flite": "flite", "festival": "text2wave"}
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


def _run(cmd: list[str], text_in: str | None = None) -> bytes:
    try:
        out = subprocess.run(cmd, input=text_in.encode() if text_in is not None else None,
                             capture_output=True, check=True, timeout=60)
    except FileNotFoundError:
        raise TimarError(f"{cmd[0]} is not installed; run .ci/setup") from None
    except subprocess.CalledProcessError as exc:
        raise TimarError(f"{cmd[0]} failed: {exc.stderr.decode(errors='replace')[:200]}") from None
    return out.stdout


def _read_wav(data: bytes | str) -> np.ndarray:
    src = io.BytesIO(data) if isinstance(data, bytes) else data
    audio, sr = sf.read(src, dtype="float32", always_2d=True)
    return resample(audio.mean(axis=1), sr, SAMPLE_RATE)


def synthesize(voice: Voice, text: str) -> np.ndarray:
    """Speak ``text`` with ``voice``: 16 kHz mono float32, leading/trailing silence trimmed."""
    if voice.engine == "espeak-ng":
        audio = _read_wav(_run(["espeak-ng", "-v", voice.name, "-s", str(int(voice.rate)),
                                "-p", str(voice.pitch), "--stdout", text]))
    else:
        with tempfile.TemporaryDirectory(prefix="timar_tts_") as tmp:
            wav = os.path.join(tmp, "out.wav")
            if voice.engine == "flite":
                _run(["flite", "-voice", voice.name, "--setf", f"duration_stretch={voice.rate}",
                      "-t", text, "-o", wav])
            elif voice.engine == "festival":
                scheme = os.path.join(tmp, "style.scm")
                with open(scheme, "w") as f:
                    f.write(f"(voice_{voice.name})\n"
                            f"(Parameter.set 'Duration_Stretch {voice.rate})\n")
                _run(["text2wave", "-eval", scheme, "-o", wav], text_in=text)
            else:
                raise TimarError(f"unknown speech engine {voice.engine!r}")
            audio = _read_wav(wav)
    if voice.warp != 1.0:
        # Play faster/slower: resample to a rate warp times lower, then treat it as 16 kHz.
        audio = resample(audio, int(round(SAMPLE_RATE * 100)), int(round(SAMPLE_RATE * 100 / voice.warp)))
    return trim_silence(audio)


def trim_silence(audio: np.ndarray, threshold: float = 0.01, margin: int = 800) -> np.ndarray:
    """Cut leading and trailing samples below ``threshold`` of the peak, keeping a margin."""
    if len(audio) == 0:
        return audio
    loud = np.flatnonzero(np.abs(audio) > threshold * max(float(np.abs(audio).max()), 1e-6))
    if len(loud) == 0:
        return audio[:0]
    start = max(int(loud[0]) - margin, 0)
    stop = min(int(loud[-1]) + margin, len(audio))
    return np.ascontiguousarray(audio[start:stop], dtype=np.float32)
