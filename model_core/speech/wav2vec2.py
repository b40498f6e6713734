"""wav2vec2 speech front end of the official TIMAR weights (needs ``transformers``).

Features are computed as the reference release does: the whole file is normalised to zero
mean and unit variance, cut into 1 s chunks, and each chunk runs through wav2vec2 on its
own; the convolutional features (49 per second) are linearly interpolated to 25 before the
feature projection and the transformer encoder, whose last hidden state is the feature of
each 40 ms motion frame.

Unlike the log-mel front end this one is not causal: the level normalisation reads the
whole file, because the official weights were trained that way. Each chunk sees only its own
second, so the model's turn-level causality is otherwise kept.

The speech model is loaded from a local folder only (``local_files_only``); nothing is ever
downloaded. The folder is the caller's (``load_model(..., speech_model_dir=)``), else
``$TIMAR_SPEECH_MODEL``; there is no process-wide setting (``speech_model.py`` locates it
and says what is wrong with it). Its weights are held outside the module tree, so they
never enter the TIMAR state dict or ``parameters()``, yet ``.to(device)`` moves them too.
"""
from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..constants import SAMPLE_RATE, SAMPLES_PER_FRAME, TURN_FRAMES
from ..errors import SpeechModelError
from .speech_model import resolve_speech_model_dir, speech_folder_problem, transformers_problem

CHUNK = SAMPLE_RATE                       # one turn of audio per wav2vec2 call
NORM_EPS = 1e-7                           # as the wav2vec2 feature extractor's normalisation


@contextlib.contextmanager
def _quiet_transformers():
    """Silence the "some weights were not used (lm_head)" notice while loading."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def load_speech_model(directory: Path) -> nn.Module:
    """A frozen ``transformers.Wav2Vec2Model`` from a local folder, in eval mode."""
    directory = Path(directory)
    problem = speech_folder_problem(directory) or transformers_problem()
    if problem:
        raise SpeechModelError(problem)
    try:
        from transformers import Wav2Vec2Model
    except ImportError as exc:
        raise SpeechModelError(f"the installed 'transformers' cannot be imported ({exc}); "
                               f"reinstall it: python -m pip install \"transformers>=4.40\"") from None
    try:
        with _quiet_transformers():
            model = Wav2Vec2Model.from_pretrained(str(directory), local_files_only=True)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise SpeechModelError(f"cannot load the speech model in {directory}: {exc}") from None
    model.eval()
    model.requires_grad_(False)
    return model


class Wav2Vec2FrontEnd(nn.Module):
    """(B, N) audio at 16 kHz -> (B, ceil(N / 640), hidden) wav2vec2 features (see module doc)."""

    def __init__(self, directory: str | os.PathLike | None = None, chunk_batch: int = 8):
        super().__init__()
        self.model_dir = resolve_speech_model_dir(directory)
        self._held = (load_speech_model(self.model_dir),)   # a tuple: not a submodule
        self.feat_dim = int(self.speech_model.config.hidden_size)
        self.chunk_batch = chunk_batch

    @property
    def speech_model(self) -> nn.Module:
        return self._held[0]

    def _apply(self, fn, *args, **kwargs):
        """``.to()`` / ``.cuda()`` / ``.half()`` on the model reach the speech model too."""
        self.speech_model._apply(fn)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True):
        super().train(mode)
        self.speech_model.eval()                 # frozen: never dropout, never masking
        return self

    def _encode(self, chunks: torch.Tensor) -> torch.Tensor:
        """(C, 16000) normalised chunks -> (C, 25, hidden)."""
        w2v = self.speech_model
        feats = w2v.feature_extractor(chunks)                      # (C, 512, 49)
        feats = F.interpolate(feats, size=TURN_FRAMES, mode="linear", align_corners=True)
        projected = w2v.feature_projection(feats.transpose(1, 2))  # (C, 25, hidden)
        if isinstance(projected, tuple):
            projected = projected[0]
        out = w2v.encoder(projected)
        return out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]

    @torch.no_grad()
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.ndim == 1:
            audio = audio[None]
        param = next(self.speech_model.parameters())
        if param.device != audio.device:          # the model moved without us: follow it
            self.speech_model.to(audio.device)
            param = next(self.speech_model.parameters())
        x = audio.to(param.dtype)
        batch, n = x.shape
        frames = math.ceil(n / SAMPLES_PER_FRAME)
        # Whole-file level normalisation, as in training (the one non-causal step).
        x = (x - x.mean(1, keepdim=True)) / torch.sqrt(x.var(1, unbiased=False, keepdim=True) + NORM_EPS)
        chunks = math.ceil(n / CHUNK)
        x = F.pad(x, (0, chunks * CHUNK - n)).reshape(batch * chunks, CHUNK)
        parts = [self._encode(x[i:i + self.chunk_batch]) for i in range(0, len(x), self.chunk_batch)]
        feats = torch.cat(parts).reshape(batch, chunks * TURN_FRAMES, self.feat_dim)
        return feats[:, :frames]
