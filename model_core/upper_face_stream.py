"""The upper face of a dialogue being generated, turn by turn (``generate.DialogueGenerator``).

The generator's speech features read each track once, in order. :class:`HeardAudio` stands
in for a track's ``AudioStream`` and keeps what is read, reading ahead when the upper face
needs audio the features have not asked for yet (a turn's upper face needs the first 832
samples of the next turn: frame 25 t + 25's window); later reads are served from what it
read ahead, so the features see exactly the samples they would have.

:class:`UpperFaceStream` keeps one :class:`~.upper.UpperFace` and one
:class:`~model_core.speech.prosody.ProsodyStream` per generated head, and adds each turn's
upper face to that head's face frames. Heads whose motion is given keep their faces.
"""
from __future__ import annotations

import numpy as np

from .constants import NECK, SAMPLES_PER_FRAME, TURN_FRAMES
from .speech.prosody import WINDOW_AHEAD, ProsodyStream
from .face.upper import UPPER_CHANNELS, UpperFace, apply_upper

NECK_PITCH = NECK.start           # FLAME neck rotation about x: > 0 the chin goes down


class HeardAudio:
    """An ``AudioStream`` (``.length``, ``.read(count)``) whose samples are also kept for
    :meth:`take_until`."""

    def __init__(self, stream):
        self.stream, self.name, self.length = stream, getattr(stream, "name", ""), stream.length
        self._read = 0                          # samples handed to the features
        self._ahead = np.zeros(0, np.float32)   # read from the stream, not yet by them
        self._kept = np.zeros(0, np.float32)    # read, not yet taken
        self._taken = 0                         # samples taken by the upper face

    def _pull(self, count: int) -> None:
        if count > 0:
            block = self.stream.read(count)
            self._ahead = np.concatenate([self._ahead, block])
            self._kept = np.concatenate([self._kept, block])

    def read(self, count: int) -> np.ndarray:
        self._pull(count - len(self._ahead))
        out, self._ahead = self._ahead[:count], self._ahead[count:]
        self._read += count
        return out

    def take_until(self, stop: int) -> np.ndarray:
        """Samples from where the last call stopped up to sample ``stop`` (zeros past the
        track's end, as ``AudioStream.read`` gives)."""
        have = self._taken + len(self._kept)
        self._pull(stop - have)
        out, self._kept = self._kept[:stop - self._taken], self._kept[stop - self._taken:]
        self._taken = max(self._taken, stop)
        return out


class UpperFaceStream:
    """Per generated head: prosody from its own track and the upper face, turn by turn."""

    def __init__(self, tracks: dict[int, HeardAudio]):
        """``tracks``: head (0 = A, 1 = B) -> its audio, for the heads being generated."""
        self.tracks = tracks
        self.prosody = {h: ProsodyStream() for h in tracks}
        self.faces = {h: UpperFace() for h in tracks}
        self.pending = {h: [] for h in tracks}      # (db, f0, strength) heard, not yet fed

    def _prosody_to(self, head: int, frames: int) -> None:
        """Measure head's prosody until ``frames`` frames are pending or fed."""
        face, pros = self.faces[head], self.prosody[head]
        need = frames - face.heard - len(self.pending[head])
        if need > 0:
            stop = (pros.frames_done + need) * SAMPLES_PER_FRAME + WINDOW_AHEAD
            db, f0, strength = pros.push(self.tracks[head].take_until(stop))
            self.pending[head].extend(zip(db.tolist(), f0.tolist(), strength.tolist()))

    def turn(self, t: int, faces: list[np.ndarray], motion: np.ndarray) -> list[np.ndarray]:
        """Turn t's face frames ((n, 67) per head, n <= 25) with the upper face added to
        every generated head's; ``motion``: (2, >= n, 56) that turn's FLAME motion."""
        out = list(faces)
        for h, face in self.faces.items():
            n = len(faces[h])
            first = t * TURN_FRAMES
            if face.frame != first:
                raise ValueError(f"the upper face of head {h} is at frame {face.frame}, "
                                 f"turn {t} starts at {first}")
            self._prosody_to(h, first + n + 1)      # one frame of lookahead
            pending = self.pending[h]
            values = np.zeros((n, len(UPPER_CHANNELS)), np.float32)
            for i in range(n):
                while face.heard < face.frame + 2:
                    face.hear(*pending.pop(0))
                values[i] = face.emit(motion[h, i, NECK_PITCH])
            out[h] = apply_upper(faces[h], values)
        return out
