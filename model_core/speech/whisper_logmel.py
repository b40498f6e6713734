"""Whisper's log-mel spectrogram, computed as Whisper computes it.

16 kHz audio, 25 ms Hann windows (n_fft 400) every 10 ms (hop 160), centred with
reflection padding and the last frame dropped (N samples -> N // 160 frames), power
spectrum through 80 Slaney-style mel filters (Slaney's mel scale: linear below 1 kHz,
logarithmic above; each filter normalised to unit area) from 0 to 8 kHz, log10 floored at
1e-10, then clamped to (its maximum - 8) and mapped by (x + 4) / 4. The maximum is taken per
clip (per batch item), so a clip's features never depend on another clip in the batch.
"""
from __future__ import annotations

import numpy as np
import torch

SAMPLE_RATE = 16_000
N_FFT = 400
HOP = 160
N_MELS = 80
FRAMES_PER_SECOND = SAMPLE_RATE // HOP    # 100 mel frames; the encoder halves it to 50

_F_SP = 200.0 / 3.0          # Slaney: Hz per mel below the break
_BREAK_HZ = 1000.0
_BREAK_MEL = _BREAK_HZ / _F_SP
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_slaney_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    return np.where(hz < _BREAK_HZ, hz / _F_SP,
                    _BREAK_MEL + np.log(np.maximum(hz, 1e-10) / _BREAK_HZ) / _LOG_STEP)


def slaney_mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel < _BREAK_MEL, mel * _F_SP, _BREAK_HZ * np.exp(_LOG_STEP * (mel - _BREAK_MEL)))


def slaney_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sr: int = SAMPLE_RATE) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters with unit-area (Slaney) normalisation."""
    bins_hz = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    edges = slaney_mel_to_hz(np.linspace(hz_to_slaney_mel(0.0), hz_to_slaney_mel(sr / 2.0), n_mels + 2))
    widths = np.diff(edges)
    offsets = edges[:, None] - bins_hz[None, :]          # (n_mels + 2, bins)
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    fb = np.maximum(0.0, np.minimum(rising, falling))
    fb *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return fb.astype(np.float32)


class WhisperLogMel(torch.nn.Module):
    """(B, N) float audio at 16 kHz -> (B, 80, N // 160) Whisper log-mel."""

    def __init__(self):
        super().__init__()
        self.register_buffer("filters", torch.from_numpy(slaney_filterbank()), persistent=False)
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)

    @torch.no_grad()
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        audio = audio.float()
        if audio.ndim == 1:
            audio = audio[None]
        spec = torch.stft(audio, N_FFT, HOP, window=self.window, center=True,
                          pad_mode="reflect", return_complex=True)[..., :-1]   # (B, 201, F)
        power = spec.real.square() + spec.imag.square()
        log_spec = torch.log10(torch.clamp(self.filters @ power, min=1e-10))  # (B, 80, F)
        peak = log_spec.amax(dim=(1, 2), keepdim=True)
        return (torch.maximum(log_spec, peak - 8.0) + 4.0) / 4.0
