"""Log-mel speech front end aligned to the 25 fps motion frames, strictly causal.

Each motion frame i owns the audio samples [640 i, 640 (i + 1)). Four STFT windows of
25 ms (hop 10 ms) end inside that span, the last one exactly at its end, so no feature
ever reads a sample after the end of its own frame. Level normalisation is causal too:
each turn is normalised by the mean log energy of the speech heard *up to the end of that
turn* (a running statistic), never by statistics of later audio.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..constants import SAMPLE_RATE, SAMPLES_PER_FRAME, TURN_FRAMES

WIN = 400            # 25 ms
HOP = 160            # 10 ms
N_FFT = WIN      # the FFT spans exactly the window, so a window ends where its frame ends
MELS_PER_FRAME = SAMPLES_PER_FRAME // HOP   # 4 STFT hops per motion frame
ACTIVE_DB = -55.0    # frames louder than this (dBFS RMS) count as speech for the level
DEFAULT_LEVEL_DB = -25.0


def mel_filterbank(n_mels: int, n_fft: int = N_FFT, sr: int = SAMPLE_RATE,
                   fmin: float = 40.0, fmax: float = 7600.0) -> np.ndarray:
    """Triangular filters on the HTK mel scale, area-normalised (Slaney style): (n_mels, n_fft // 2 + 1)."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    bins = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None] - lower) / (centre - lower)
    falling = (upper - bins[None]) / (upper - centre)
    fb = np.maximum(0.0, np.minimum(rising, falling))
    fb *= (2.0 / (upper - lower))
    return fb.astype(np.float32)


class LogMelFrontEnd(nn.Module):
    """(B, N) audio at 16 kHz -> (B, F, 4 * n_mels) features, F = ceil(N / 640).

    No learned parameters: the learned speech encoder lives in the model, so the same front
    end serves TIMAR and the DualTalk baseline.
    """

    def __init__(self, n_mels: int = 64):
        super().__init__()
        self.n_mels = n_mels
        self.feat_dim = MELS_PER_FRAME * n_mels
        self.register_buffer("fbank", torch.from_numpy(mel_filterbank(n_mels)), persistent=False)
        self.register_buffer("window", torch.hann_window(WIN), persistent=False)

    @torch.no_grad()
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Whole clips at once: the same turn-by-turn computation as :meth:`stream`, so
        features streamed per turn equal these bit for bit."""
        audio = audio.float()
        if audio.ndim == 1:
            audio = audio[None]
        if audio.shape[1] == 0:
            return audio.new_zeros(audio.shape[0], 0, self.feat_dim)
        stream = self.stream(audio.shape[0], audio.device)
        step = TURN_FRAMES * SAMPLES_PER_FRAME
        return torch.cat([stream.push(audio[:, i:i + step])
                          for i in range(0, audio.shape[1], step)], dim=1)

    def stream(self, batch: int = 1, device=None) -> "LogMelStream":
        """A per-turn feature computer for ``batch`` tracks (see :class:`LogMelStream`)."""
        return LogMelStream(self, batch, device)


class LogMelStream:
    """Log-mel features one turn at a time, carrying only what the next turn needs: the
    last 15 ms of audio (the first window reaches back that far) and the running sums of
    the level statistic. Memory does not grow with the length of the dialogue."""

    def __init__(self, frontend: LogMelFrontEnd, batch: int = 1, device=None):
        self.fe = frontend
        device = device if device is not None else frontend.window.device
        self.tail = torch.zeros(batch, WIN - HOP, device=device)     # audio before the turn
        self.level_sum = torch.zeros(batch, device=device)          # sum of active rms_db
        self.level_count = torch.zeros(batch, device=device)        # active frames so far

    @torch.no_grad()
    def push(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, n) audio of the next turn, n <= 16000 (shorter only for the last turn) ->
        (B, ceil(n / 640), feat) features; the level is read at the turn's end."""
        fe = self.fe
        audio = audio.float().to(self.tail.device)
        batch, n = audio.shape
        if n > TURN_FRAMES * SAMPLES_PER_FRAME:
            raise ValueError(f"push one turn ({TURN_FRAMES * SAMPLES_PER_FRAME} samples) at a time, got {n}")
        frames = math.ceil(n / SAMPLES_PER_FRAME)
        total = frames * SAMPLES_PER_FRAME
        seg = nn.functional.pad(audio, (0, total - n))
        x = torch.cat([self.tail, seg], dim=1)
        self.tail = seg[:, total - (WIN - HOP):]
        spec = torch.stft(x, N_FFT, hop_length=HOP, win_length=WIN, window=fe.window,
                          center=False, return_complex=True)          # (B, 201, 4F)
        power = spec.real.square() + spec.imag.square()
        mel = torch.einsum("mf,bft->btm", fe.fbank, power)              # (B, 4F, M)
        logmel = torch.log(mel + 1e-8)

        # Causal level: running mean of active-frame log energy up to this turn's end.
        rms_db = 10.0 * torch.log10(seg.view(batch, frames, SAMPLES_PER_FRAME).square().mean(-1)
                                    + 1e-12)                            # (B, F)
        active = (rms_db > ACTIVE_DB).float()
        self.level_sum = self.level_sum + (rms_db * active).sum(1)
        self.level_count = self.level_count + active.sum(1)
        level_db = torch.where(self.level_count > 0,
                               self.level_sum / self.level_count.clamp(min=1),
                               torch.full_like(self.level_sum, DEFAULT_LEVEL_DB))
        # dB of RMS -> natural-log power offset; centre speech at 0 with a gentle scale.
        offset = level_db * (math.log(10.0) / 10.0)                         # (B,)
        logmel = logmel.view(batch, frames, MELS_PER_FRAME, fe.n_mels) - offset[:, None, None, None]
        logmel = torch.clamp(logmel, min=-12.0) / 4.0
        return logmel.reshape(batch, frames, fe.feat_dim)
