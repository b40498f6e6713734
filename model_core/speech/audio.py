"""Reading speech: any file soundfile can decode (wav, flac, ogg, mp3), any sample rate,
stereo downmixed, resampled to 16 kHz with a polyphase anti-aliasing resampler."""
from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

from ..constants import SAMPLE_RATE
from ..errors import AudioError
from ..input_files import check_input_file
from .resample import resample_poly

# Peak level under which a track counts as silent (about -70 dBFS).
SILENCE_PEAK = 3e-4

# What a header may claim before anything is decoded: telephone speech (8 kHz) to studio
# masters (384 kHz); four hours (the longest dialogue the batch is meant for is one); a few
# channels. A header outside these is a damaged or hostile file: a 1 MB WAV that says 1 Hz
# would otherwise plan 500000 turns, one that says 40 MHz divides by zero when resampled.
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 384_000
MAX_AUDIO_SECONDS = 4 * 3600
MAX_CHANNELS = 32


def resample(audio: np.ndarray, sr_in: int, sr_out: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling (Kaiser-windowed polyphase FIR, as scipy's resample_poly)."""
    if sr_in == sr_out:
        return audio.astype(np.float32, copy=False)
    ratio = Fraction(sr_out, sr_in).limit_denominator(1000)
    out = resample_poly(audio, ratio.numerator, ratio.denominator)
    return out.astype(np.float32)


def check_sample_rate(rate, name: str, said: str = "its sample rate is") -> int:
    """``rate`` as an int, or AudioError when it is outside 8 kHz to 384 kHz."""
    rate = int(rate)
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"{name}: {said} {rate:,} samples per second; a sample rate "
                         f"from {MIN_SAMPLE_RATE:,} to {MAX_SAMPLE_RATE:,} Hz is needed (the "
                         "file is damaged or not speech): re-export it, e.g. at 16 or 48 kHz")
    return rate


def check_audio_header(path: str | os.PathLike, name: str | None = None):
    """The file's ``soundfile.info`` once the file is a regular file of bounded size and its
    header's sample rate, channels and duration are within the limits above; nothing but the
    header is read. Raises AudioError with one line."""
    import soundfile as sf

    path = os.fspath(path)
    name = name or path
    check_input_file(path, "audio file", AudioError, "audio")
    try:
        info = sf.info(path)
    except Exception as exc:  # soundfile raises its own types and RuntimeError
        raise AudioError(
            f"{path}: cannot decode audio ({exc}); use wav, flac, ogg or mp3") from None
    rate, channels, frames = int(info.samplerate), int(info.channels), int(info.frames)
    check_sample_rate(rate, name, "its header says")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"{name}: its header says {channels} channels; at most "
                         f"{MAX_CHANNELS} are read: re-export it as mono or stereo")
    seconds = frames / rate
    if seconds > MAX_AUDIO_SECONDS:
        raise AudioError(f"{name}: its header says {seconds:,.0f} s ({seconds / 3600:.1f} h, "
                         f"{int(seconds) + 1:,} turns); at most {MAX_AUDIO_SECONDS // 3600} h "
                         "can be generated at once: split the dialogue")
    return info


def read_audio_file(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode a file into (samples, channels) float32 and its sample rate, once its header
    passed :func:`check_audio_header`."""
    import soundfile as sf

    path = os.fspath(path)
    check_audio_header(path)
    try:
        data, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(
            f"{path}: cannot decode audio ({exc}); use wav, flac, ogg or mp3") from None
    return data, int(sr)


def load_audio(source, sample_rate: int | None = None, *, name: str = "audio",
               allow_silent: bool = False) -> np.ndarray:
    """Return mono float32 speech at 16 kHz from a path or an array.

    ``source`` is a path, or a numpy array (1-D mono or 2-D (samples, channels)) whose rate
    is ``sample_rate`` (16 kHz when None). Raises AudioError for a missing or undecodable
    file, empty audio, NaN/inf samples, or (unless ``allow_silent``) a silent track.
    """
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        data, sr = read_audio_file(source)
    else:
        data = np.asarray(source, dtype=np.float32)
        sr = check_sample_rate(sample_rate or SAMPLE_RATE, name)
        if data.ndim == 1:
            data = data[:, None]
        elif data.ndim != 2:
            raise AudioError(f"{name}: audio array must be 1-D or (samples, channels), got {data.shape}")
        elif data.shape[0] < data.shape[1]:   # (channels, samples) given: transpose
            data = data.T
    if data.shape[0] == 0:
        raise AudioError(f"{name}: the audio is empty (0 samples)")
    if not np.isfinite(data).all():
        raise AudioError(f"{name}: the audio holds NaN or infinite samples; re-export the file")
    mono = data.mean(axis=1)
    mono = resample(mono, sr, SAMPLE_RATE)
    if not allow_silent and float(np.abs(mono).max()) < SILENCE_PEAK:
        raise AudioError(f"{name}: the audio is silent (peak below -70 dBFS); "
                         "check that the right track was chosen")
    return np.ascontiguousarray(mono, dtype=np.float32)


def pad_warning_for(len_a: int, len_b: int) -> str | None:
    """The warning given when two tracks of these lengths (16 kHz samples) are padded."""
    if len_a == len_b:
        return None
    n = max(len_a, len_b)
    short = "A" if len_a < len_b else "B"
    diff = abs(len_a - len_b) / SAMPLE_RATE
    return (f"speaker {short}'s audio is {diff:.2f} s shorter; padded with silence "
            f"to {n / SAMPLE_RATE:.2f} s")


def pad_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Pad the shorter of two tracks with trailing silence; returns a warning when padded."""
    n = max(len(a), len(b))
    return (np.pad(a, (0, n - len(a))), np.pad(b, (0, n - len(b))), pad_warning_for(len(a), len(b)))
