"""Speech read in blocks: a long dialogue never has to fit in memory.

:func:`open_audio` checks a track in one pass over the file (decodable, not empty, no NaN,
not silent) holding only one block at a time, then :meth:`AudioStream.read` hands out the
16 kHz mono samples in order, resampled block by block with exactly the filter of
:func:`model_core.speech.audio.resample` (the same taps, alignment and length). Arrays (what the
Blender add-on passes) are wrapped the same way.
"""
from __future__ import annotations

import os
import struct
from fractions import Fraction

import numpy as np

from ..constants import SAMPLE_RATE
from ..errors import AudioError
from .audio import SILENCE_PEAK, check_audio_header, check_sample_rate
from .resample import polyphase_taps

BLOCK = 1 << 18          # input samples decoded at a time (about 6 s at 44.1 kHz)


def wav_shortfall(path: str | os.PathLike) -> float | None:
    """Seconds a WAV file's header promises beyond the end of the file (None: complete, or
    not a plain RIFF WAV). A file cut short by a failed copy or download still decodes,
    just shorter; this tells the user it ends early."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            size = os.fstat(fh.fileno()).st_size
            byte_rate = None
            while True:
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return None
                cid, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if cid == b"fmt ":
                    fmt = fh.read(min(length, 16))
                    byte_rate = struct.unpack("<I", fmt[8:12])[0] if len(fmt) >= 12 else None
                    fh.seek(length - len(fmt) + (length & 1), 1)
                elif cid == b"data":
                    if length == 0xFFFFFFFF or not byte_rate:   # streamed / RF64-style
                        return None
                    missing = fh.tell() + length - size
                    return missing / byte_rate if missing > 0 else None
                else:
                    fh.seek(length + (length & 1), 1)
    except OSError:
        return None


def truncation_warning(path, label: str) -> str | None:
    """A one-line warning when ``path`` is a WAV file that ends before its header says."""
    if not isinstance(path, (str, os.PathLike)):
        return None
    missing = wav_shortfall(path)
    if missing is None or missing < 1e-3:
        return None
    return (f"{label} ({os.fspath(path)}) ends early: its header promises {missing:.2f} s more "
            "than the file holds (an interrupted copy or download?); generated what is there")


class _Resampler:
    """Block-by-block polyphase resampling, equal to ``resample_poly`` on the whole signal."""

    def __init__(self, up: int, down: int, n_in: int):
        self.up, self.down, self.n_in = up, down, n_in
        self.h, half_len = polyphase_taps(up, down)
        self.T = -(-len(self.h) // up)                   # taps per phase
        self.first = (half_len + down - half_len % down) // down
        self.n_out = -(-n_in * up // down)
        self.next_out = 0

    def needed_input(self, count: int) -> int:
        """Input samples (from the start) that outputs up to next_out + count read."""
        m = self.first + min(self.next_out + count, self.n_out) - 1
        return min(self.n_in, (m * self.down) // self.up + 1)

    def outputs(self, x: np.ndarray, x_start: int, count: int) -> np.ndarray:
        """The next ``count`` outputs, given input samples x = signal[x_start:...]: the
        sums of ``resample_poly``, one polyphase branch at a time."""
        count = min(count, self.n_out - self.next_out)
        j0, up, down, T = self.next_out, self.up, self.down, self.T
        newest = lambda j: ((self.first + j) * down) // up      # noqa: E731
        lo, hi = newest(j0) - T + 1, newest(j0 + count - 1)
        local = np.zeros(hi - lo + 1)                           # signal[lo..hi], zero outside
        a, b = max(lo, 0), min(hi + 1, self.n_in)
        if b > a:
            local[a - lo:b - lo] = x[a - x_start:b - x_start]
        windows = np.lib.stride_tricks.sliding_window_view(local, T)
        y = np.empty(count)
        for r in range(min(up, count)):
            m = self.first + j0 + r
            taps = self.h[(m * down) % up::up]
            taps = np.concatenate([taps, np.zeros(T - len(taps))])[::-1]   # oldest first
            w = newest(j0 + r) - T + 1 - lo
            n = len(range(r, count, up))
            y[r::up] = windows[w: w + (n - 1) * down + 1: down] @ taps
        self.next_out += count
        return y


class AudioStream:
    """Mono 16 kHz samples of one track, read in order with :meth:`read`."""

    def __init__(self, name: str, length: int, blocks, sr: int):
        self.name = name
        self.length = length            # samples at 16 kHz
        self._blocks_factory = blocks    # () -> iterator of mono float32 blocks at ``sr``
        self.sr = sr
        self.rewind()

    def rewind(self) -> None:
        self._blocks = self._blocks_factory()
        self._buf = np.zeros(0, np.float32)
        self._buf_start = 0              # input index of _buf[0]
        self._done = 0                   # 16 kHz samples handed out
        self._resampler = None
        if self.sr != SAMPLE_RATE:
            ratio = Fraction(SAMPLE_RATE, self.sr).limit_denominator(1000)
            self._resampler = _Resampler(ratio.numerator, ratio.denominator, self._n_in)

    def _fill_to(self, stop: int) -> None:
        """Decode until the buffer reaches input index ``stop``."""
        while self._buf_start + len(self._buf) < stop:
            block = next(self._blocks, None)
            if block is None:
                break
            self._buf = np.concatenate([self._buf, block])

    def _trim(self, keep_from: int) -> None:
        cut = max(0, keep_from - self._buf_start)
        if cut:
            self._buf = self._buf[cut:]
            self._buf_start += cut

    def read(self, count: int) -> np.ndarray:
        """The next ``count`` samples (zeros past the end), float32."""
        out = np.zeros(count, np.float32)
        have = max(0, min(count, self.length - self._done))
        if have:
            if self._resampler is None:
                self._fill_to(self._done + have)
                part = self._buf[self._done - self._buf_start:self._done + have - self._buf_start]
                out[:have] = part
                self._trim(self._done + have)
            else:
                r = self._resampler
                self._fill_to(r.needed_input(have))
                out[:have] = r.outputs(self._buf, self._buf_start, have).astype(np.float32)
                # keep what the next outputs still read (T taps back from their newest)
                nxt = ((r.first + r.next_out) * r.down) // r.up
                self._trim(nxt - r.T + 1)
        self._done += count
        return out


def _file_blocks(path: str):
    import soundfile as sf

    def blocks():
        with sf.SoundFile(path) as f:
            for block in f.blocks(blocksize=BLOCK, dtype="float32", always_2d=True):
                yield block.mean(axis=1).astype(np.float32)
    return blocks


def open_audio(source, sample_rate: int | None = None, *, name: str = "audio",
               allow_silent: bool = False) -> AudioStream:
    """Check a track (see :func:`model_core.speech.audio.load_audio` for what is refused) in one
    pass of bounded memory and return it as an :class:`AudioStream`."""
    if isinstance(source, (str, os.PathLike)):
        path = name = os.fspath(source)
        info = check_audio_header(path)
        try:
            sr, blocks = int(info.samplerate), _file_blocks(path)
            n_in, peak, finite = 0, 0.0, True
            for block in blocks():
                n_in += len(block)
                finite = finite and bool(np.isfinite(block).all())
                if finite and len(block):
                    peak = max(peak, float(np.abs(block).max()))
        except Exception as exc:
            raise AudioError(
                f"{path}: cannot decode audio ({exc}); use wav, flac, ogg or mp3") from None
    else:
        data = np.asarray(source, dtype=np.float32)
        sr = check_sample_rate(sample_rate or SAMPLE_RATE, name)
        if data.ndim == 2:
            data = (data.T if data.shape[0] < data.shape[1] else data).mean(axis=1)
        elif data.ndim != 1:
            raise AudioError(f"{name}: audio array must be 1-D or (samples, channels), got {data.shape}")
        data = np.ascontiguousarray(data, dtype=np.float32)
        n_in = len(data)
        finite = bool(np.isfinite(data).all())
        peak = float(np.abs(data).max()) if n_in and finite else 0.0
        blocks = lambda: iter([data])      # noqa: E731 - already in memory
    if n_in == 0:
        raise AudioError(f"{name}: the audio is empty (0 samples)")
    if not finite:
        raise AudioError(f"{name}: the audio holds NaN or infinite samples; re-export the file")
    if sr != SAMPLE_RATE:
        ratio = Fraction(SAMPLE_RATE, sr).limit_denominator(1000)
        length = -(-n_in * ratio.numerator // ratio.denominator)
    else:
        length = n_in
    stream = AudioStream.__new__(AudioStream)
    stream._n_in = n_in
    stream.__init__(name, length, blocks, sr)
    if not allow_silent and peak < SILENCE_PEAK:
        # the resampled peak can differ slightly; check it exactly on the 16 kHz samples
        if _stream_peak(stream) < SILENCE_PEAK:
            raise AudioError(f"{name}: the audio is silent (peak below -70 dBFS); "
                             "check that the right track was chosen")
        stream.rewind()
    return stream


def _stream_peak(stream: AudioStream) -> float:
    peak, left = 0.0, stream.length
    while left > 0:
        block = stream.read(min(left, SAMPLE_RATE))
        peak = max(peak, float(np.abs(block).max()))
        left -= len(block)
    return peak
