"""Speech features of a dialogue, computed turn by turn as generation reaches them.

:class:`TurnFeatures` stands where a ``(2, n_turns, 25, feat)`` tensor of both tracks'
features would: indexing it with ``[heads, turns]`` returns exactly what that tensor would
hold, but each turn is computed from the audio streams only when first asked for, and
forgotten when the reader says no one will read it again (:meth:`TurnFeatures.drop_before`). With the causal log-mel front
end memory is flat in the dialogue's length and the features equal the whole-file ones bit
for bit. The wav2vec2 front end of the official weights normalises by the whole file, so
there every turn is computed up front, as the reference does.

A model whose mouth head reads Whisper (``model.mouth_frontend``) gets a second stream fed
the same audio as it is read: turn t's Whisper features are ready once the 80 ms after it
has been read, i.e. when turn t + 1's audio is (:meth:`TurnFeatures.mouth_turns`). Both
heads go through one encoder call per turn, and the features equal the whole-clip ones
(``speech.whisper_stream.turn_features`` of both tracks) exactly.
"""
from __future__ import annotations

import numpy as np
import torch

from ..constants import SAMPLES_PER_FRAME, TURN_FRAMES
from .audio_stream import AudioStream

TURN_SAMPLES = TURN_FRAMES * SAMPLES_PER_FRAME


class TurnFeatures:
    def __init__(self, model, a: AudioStream, b: AudioStream, n_turns: int):
        self.model, self.streams, self.n_turns = model, (a, b), n_turns
        self.length = max(a.length, b.length)       # the shorter track is padded with silence
        self.feat_dim = model.frontend.feat_dim
        self._turns: dict[int, torch.Tensor] = {}   # turn -> (2, 25, feat)
        self._next = 0                              # next turn to compute
        mouth = getattr(model, "mouth_frontend", None)
        self._mouth_stream = mouth.stream(2) if mouth is not None else None
        self._mouth_dim = mouth.feat_dim if mouth is not None else 0
        self._mouth: dict[int, torch.Tensor] = {}   # turn -> (2, <=25, mouth feat)
        self._mouth_done = 0                        # Whisper turns emitted so far
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
                self._feed_mouth(audio)
            else:                                   # a turn past the audio (rounding)
                feats = torch.zeros(2, 0, self.feat_dim, device=self.model.device)
            if t == self.n_turns - 1:
                self._finish_mouth()
            self._turns[t] = torch.nn.functional.pad(
                feats[:, :TURN_FRAMES], (0, 0, 0, TURN_FRAMES - min(TURN_FRAMES, feats.shape[1])))
            self._next += 1

    def _feed_mouth(self, audio: torch.Tensor) -> None:
        if self._mouth_stream is not None:
            for turn in self._mouth_stream.push(audio):
                self._mouth[self._mouth_done] = turn
                self._mouth_done += 1

    def _finish_mouth(self) -> None:
        """The last turn: the audio after the last whole frame (never read above) and the
        silence after the dialogue, so the last turns come out as the whole clip has them."""
        if self._mouth_stream is None:
            return
        rest = self.length - self.n_turns * TURN_SAMPLES
        if rest > 0:
            self._feed_mouth(torch.from_numpy(np.stack([s.read(rest) for s in self.streams])))
        for turn in self._mouth_stream.finish():
            self._mouth[self._mouth_done] = turn
            self._mouth_done += 1

    def mouth_turns(self, first: int, stop: int) -> torch.Tensor:
        """(2, (stop - first) * 25, mouth feat) Whisper features of turns first..stop - 1
        (reading turn stop's audio first: the 80 ms after turn stop - 1 is in it); frames
        past the audio's end are zeros, for the caller to mask."""
        self._compute_to(min(stop + 1, self.n_turns))
        for t in [t for t in self._mouth if t < first]:
            del self._mouth[t]
        dev = self.model.device
        turns = []
        for t in range(first, stop):
            f = self._mouth.get(t, torch.zeros(2, 0, self._mouth_dim))
            turns.append(torch.nn.functional.pad(f, (0, 0, 0, TURN_FRAMES - f.shape[1])))
        return torch.cat(turns, 1).to(dev) if turns else torch.zeros(2, 0, self._mouth_dim, device=dev)

    def drop_before(self, turn: int) -> None:
        """Forget the features of turns before ``turn``: the reader says what it will never
        read again (the transformer's window and the mouth head read different spans), so a
        long dialogue's memory stays bounded."""
        for t in [t for t in self._turns if t < turn]:
            del self._turns[t]

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
        if stop <= first:
            block = torch.zeros(2, 0, TURN_FRAMES, self.feat_dim, device=self.model.device)
        else:
            block = torch.stack([self._turns[t] for t in range(first, stop)], dim=1)
        if single:
            block = block[:, 0]
        return block[(heads,) + tuple(rest)]
