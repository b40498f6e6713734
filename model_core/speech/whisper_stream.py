"""Whisper encoder features per 1 s turn, as a streaming mouth model would compute them.

For the turn covering samples [16000 k, 16000 (k + 1)) the encoder runs on the 2 s (by
default; shorter windows cost less) of audio that end LOOKAHEAD (80 ms) after the turn's end (zeros before the dialogue starts, zeros
after it ends), and the turn keeps the 50 encoder frames inside the turn, averaged in pairs
to 25 motion frames (frame i owns samples [640 i, 640 (i + 1)), as in model_core.speech.logmel).
So a turn's features hear the turn, up to ~1 s before it and exactly 80 ms after it, and
nothing later: a motion model using them runs 80 ms behind the audio. The same function
serves whole clips (:func:`turn_features`) and the stream (:class:`WhisperTurnStream`), so
the two agree exactly.
"""
from __future__ import annotations

import math

import torch

from ..constants import SAMPLES_PER_FRAME, SAMPLES_PER_TURN, TURN_FRAMES
from .whisper_encoder import BEST_LAYER, WhisperEncoder
from .whisper_logmel import WhisperLogMel

WINDOW = 2 * SAMPLES_PER_TURN                  # 2 s of audio per encoder run (the default)
LOOKAHEAD = 1280                               # 80 ms after the turn's end
ENCODER_HOP = 320                              # one encoder frame = 20 ms


class WhisperTurnFeatures:
    """The encoder, its log-mel and the layer(s) to read: (B, window) audio -> (B, 25, D);
    several layers come out side by side (D = 512 per layer). ``window`` (samples, 2 s by
    default) is the audio one run hears: the turn, 80 ms after it, the rest before it."""

    def __init__(self, encoder: WhisperEncoder, layer: int | tuple[int, ...] = BEST_LAYER,
                 window: int = WINDOW):
        before = window - LOOKAHEAD - SAMPLES_PER_TURN
        if before < 0 or before % ENCODER_HOP:
            raise ValueError(f"the window must hold the turn and 80 ms after it, in steps of "
                             f"{ENCODER_HOP} samples; got {window}")
        self.encoder = encoder
        self.layers = (layer,) if isinstance(layer, int) else tuple(layer)
        self.logmel = WhisperLogMel()
        self.dim = encoder.conv1.out_channels * len(self.layers)
        self.samples = window
        self.first_frame = before // ENCODER_HOP       # the turn's first encoder frame (46 for 2 s)

    @torch.no_grad()
    def window(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.shape[-1] != self.samples:
            raise ValueError(f"a window is {self.samples} samples, got {audio.shape[-1]}")
        rows = slice(self.first_frame, self.first_frame + 2 * TURN_FRAMES)
        states = self.encoder.hidden_states(self.logmel(audio), max(self.layers), last_rows=rows)
        turn = torch.cat([states[i - 1] if i == max(self.layers) else states[i - 1][:, rows]
                          for i in self.layers], dim=-1)                          # (B, 50, D)
        return turn.reshape(turn.shape[0], TURN_FRAMES, 2, -1).mean(2)        # (B, 25, D)

    def stream(self, batch: int = 1) -> "WhisperTurnStream":
        return WhisperTurnStream(self, batch)


def turn_features(features: WhisperTurnFeatures, audio: torch.Tensor) -> torch.Tensor:
    """(B, N) whole clips -> (B, ceil(N / 640), D): every turn through the streaming path."""
    stream = features.stream(audio.shape[0])
    out = stream.push(audio) + stream.finish()
    return torch.cat(out, dim=1) if out else audio.new_zeros(audio.shape[0], 0, features.dim)


class WhisperTurnStream:
    """Push audio in chunks of any length; each turn's features come out as soon as the
    80 ms after it has arrived. ``finish()`` closes the dialogue (zeros after its end)."""

    def __init__(self, features: WhisperTurnFeatures, batch: int = 1):
        self.features = features
        self.window = features.samples
        self.buffer = torch.zeros(batch, self.window)   # audio ending at sample `self.end`
        self.end = 0                               # samples received so far
        self.turns = 0                             # turns emitted so far

    def _turn_end(self) -> int:                     # the sample the next turn's window ends at
        return (self.turns + 1) * SAMPLES_PER_TURN + LOOKAHEAD

    @torch.no_grad()
    def push(self, audio: torch.Tensor) -> list[torch.Tensor]:
        """(B, n) more audio -> the (B, 25, D) features of every turn now complete."""
        self.buffer = torch.cat([self.buffer, audio.float()], dim=1)
        self.end += audio.shape[1]
        out = []
        while self.end >= self._turn_end():
            stop = self.buffer.shape[1] - (self.end - self._turn_end())
            out.append(self.features.window(self.buffer[:, stop - self.window:stop]))
            self.turns += 1
        keep = self.window - (self._turn_end() - self.end)   # what the next window still needs
        self.buffer = self.buffer[:, self.buffer.shape[1] - max(keep, 0):]
        return out

    def finish(self) -> list[torch.Tensor]:
        """The remaining turns, heard with silence after the end; the last one cut to the
        frames the audio has (ceil(N / 640) frames in all)."""
        frames = math.ceil(self.end / SAMPLES_PER_FRAME)
        turns = math.ceil(frames / TURN_FRAMES)
        if turns <= self.turns:
            return []
        pad = turns * SAMPLES_PER_TURN + LOOKAHEAD - self.end
        out = self.push(torch.zeros(self.buffer.shape[0], pad))
        out[-1] = out[-1][:, :frames - (turns - 1) * TURN_FRAMES]
        return out
