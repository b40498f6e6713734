"""Speech features of a dialogue, computed turn by turn as generation reaches them.

:class:`TurnFeatures` stands where a ``(2, n_turns, 25, feat)`` tensor of both tracks'
features would: indexing it with ``[heads, turns]`` returns exactly what that tensor would
hold, but each turn is computed from the audio streams only when first asked for, and
turns before the earliest one still asked for are dropped. With the causal log-mel front
end memory is flat in the dialogue's length and the features equal the whole-file ones bit
for bit. The wav2vec2 front end of the official weights normalises by the whole file, so
there every turn is computed up front, as the reference does.
"""
from __future__ import annotations

import numpy as np
import torch

from .audio_stream import AudioStream
from .constants import SAMPLES_PER_FRAME, TURN_FRAMES

TURN_SAMPLES = TURN_FRAMES * SAMPLES_PER_FRAME


class TurnFeatures:
    def __init__(self, model, a: AudioStream, b: AudioStream, n_turns: int):
        self.model, self.streams, self.n_turns = model, (a, b), n_turns
        self.length = max(a.length, b.length)       # the shorter track is padded with silence
        self.feat_dim = model.frontend.feat_dim
        self._turns: dict[int, torch.Tensor] = {}   # turn -> (2, 25, feat)
        self._next = 0                              # next turn to compute
        if hasattr(model.frontend, "stream"):
            self._live = model.frontend.stream(2, model.device)
        else:                                       # whole-file front end: all turns now
            self._live = None
            audio = torch.from_numpy(np.stack([s.read(self.length) for s in self.streams]))
            feats = model.speech_features(audio)                       # (2, F', feat)
            padded = n_turns * TURN_FRAMES
            feats = torch.nn.functional.pad(feats[:, :padded],
                                            (0, 0, 0, max(0, padded - feats.shape[1])))
            for t, turn in enumerate(feats.view(2, n_turns, TURN_FRAMES, -1).unbind(1)):
                self._turns[t] = turn
            self._next = n_turns

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (2, self.n_turns, TURN_FRAMES, self.feat_dim)

    def _compute_to(self, stop: int) -> None:
        while self._next < min(stop, self.n_turns):
            t = self._next
            n = min(TURN_SAMPLES, self.length - t * TURN_SAMPLES)
            if n > 0:
                audio = torch.from_numpy(np.stack([s.read(n) for s in self.streams]))
                feats = self._live.push(audio)                         # (2, <=25, feat)
            else:                                   # a turn past the audio (rounding)
                feats = torch.zeros(2, 0, self.feat_dim, device=self.model.device)
            self._turns[t] = torch.nn.functional.pad(
                feats[:, :TURN_FRAMES], (0, 0, 0, TURN_FRAMES - min(TURN_FRAMES, feats.shape[1])))
            self._next += 1

    def __getitem__(self, key) -> torch.Tensor:
        heads, turns = (key, slice(None)) if not isinstance(key, tuple) else (key[0], key[1])
        rest = key[2:] if isinstance(key, tuple) else ()
        single = isinstance(turns, (int, np.integer))
        first, stop, step = (slice(int(turns), int(turns) + 1) if single else turns).indices(self.n_turns)
        if step != 1:
            raise IndexError("TurnFeatures supports consecutive turns only")
        if first < min(self._turns, default=first):
            raise IndexError(f"turn {first} was already dropped (turns are read in order)")
        self._compute_to(stop)
        for t in [t for t in self._turns if t < first]:
            del self._turns[t]                     # generation never looks back at them
        if stop <= first:
            block = torch.zeros(2, 0, TURN_FRAMES, self.feat_dim, device=self.model.device)
        else:
            block = torch.stack([self._turns[t] for t in range(first, stop)], dim=1)
        if single:
            block = block[:, 0]
        return block[(heads,) + tuple(rest)]
