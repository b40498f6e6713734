"""The upper face from prosody and reactions: brows on the speaker's pitch accents, a brief
brow raise and a soft smile with the listener's nods.

One :class:`UpperFace` per generated head follows that head frame by frame (25 fps),
causally, and adds to the head's face frames (``channels``: ARKit-52 then 15 visemes):

- **Pitch accents** (the head talking): on a loud voiced frame whose pitch stands
  ``ACCENT_SEMITONES`` or more above the speaker's own running median (a deep and a high voice
  alike) and peaks there, ``browInnerUp`` and ``browOuterUpLeft/Right`` rise over 120 ms
  and fall over 400 ms, by ``BROW_PER_SEMITONE`` per semitone of the rise (at most
  ``BROW_MAX``). A peak is known one frame after it, and that frame's window ends 12 ms
  after it: 52 ms of audio lookahead, within the mouth head's 80 ms.
- **Listener reactions** (the head silent): a nod in the head's own generated neck motion
  (the chin going down by ``NOD_RAD`` or more within ``NOD_FRAMES`` and turning back up; seen
  one frame after its lowest point, from the frames generated so far) starts a soft smile
  (``mouthSmileLeft/Right`` 0.15-0.35 with the nod's depth, ``cheekSquintLeft/Right`` a
  third of it) held about 1 s and eased out, and a brief brow raise. Never while the head
  talks: the smile fades out on the frame before its voice starts and stays off while it
  talks, where the mouth head owns the mouth.

The values join the face frame by the maximum, channel by channel (never above 1); every
other channel, jawOpen and mouthClose among them, is left as it came. Blinks and gaze are
the Blender side's (``timar_blender.rig.motion``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .channels import ARKIT_INDEX

# Speaker: pitch accents.
ACCENT_SEMITONES = 2.5        # a rise this far above the running median is an accent
OCTAVE_GLITCH_SEMITONES = 9.0  # further above is the tracker jumping an octave, not a voice
CONTOUR_STEP = 2.0            # semitones a voice's pitch moves at most from frame to frame
BROW_PER_SEMITONE = 0.08
BROW_MAX = 0.5
ACCENT_SPACING = 8            # frames (320 ms) between two accents' bumps
VOICING_STRENGTH = 0.45       # normalised autocorrelation peak of a voiced frame
MEDIAN_FRAMES = 250           # voiced frames the running pitch median spans (~10 s of voice)
MEDIAN_MIN_FRAMES = 10        # no accent before this much voice was heard
LOUD_BELOW_PEAK_DB = 12.0     # an accent's frame is within this of the running peak level
VOICE_BELOW_PEAK_DB = 25.0    # talking: within this of the running peak level ...
VOICE_FLOOR_DB = -50.0        # ... and above this absolute level
PEAK_DECAY_DB = 0.04          # per frame (1 dB/s): the running peak level forgets slowly
TALK_HANGOVER = 5             # frames (200 ms) a pause between words still counts as talking

# Listener: nods in the generated neck pitch (FLAME neck x, rad; > 0 chin down).
NOD_RAD = 0.03                # ~1.7 degrees down within NOD_FRAMES, then back up
NOD_FRAMES = 10               # 400 ms
NOD_SPACING = 15              # frames between two reactions' onsets
SMILE_RANGE = (0.15, 0.35)    # smile for a nod of NOD_RAD .. 2 NOD_RAD and deeper
CHEEK_PER_SMILE = 1.0 / 3.0
REACTION_BROW = 0.25          # the brow raise with a nod (x the nod's smile / its maximum)

BROWS = tuple(ARKIT_INDEX[n] for n in ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"))
SMILE = tuple(ARKIT_INDEX[n] for n in ("mouthSmileLeft", "mouthSmileRight"))
CHEEK = tuple(ARKIT_INDEX[n] for n in ("cheekSquintLeft", "cheekSquintRight"))
UPPER_CHANNELS = BROWS + SMILE + CHEEK


def _ease(count: int) -> np.ndarray:
    """``count`` values easing from 0 to 1 (a raised-cosine quarter), the last one 1."""
    return 0.5 * (1.0 - np.cos(np.pi * np.arange(1, count + 1) / count))


def _pulse(rise: int, hold: int, fall: int) -> np.ndarray:
    """A bump's shape, frame by frame from its onset: eases up over ``rise`` frames, holds,
    eases down over ``fall`` frames to 0."""
    return np.concatenate([_ease(rise), np.ones(hold), _ease(fall)[::-1][1:], [0.0]])


BROW_PULSE = _pulse(3, 0, 10)          # 120 ms up, 400 ms down
SMILE_PULSE = _pulse(5, 25, 12)        # 200 ms up, held 1 s, 480 ms down


@dataclass
class Bumps:
    """Pulses of one shape started at frames with amplitudes; their value at a frame is the
    largest of them there."""
    shape: np.ndarray
    live: list = field(default_factory=list)       # (onset frame, amplitude)

    def start(self, frame: int, amplitude: float) -> None:
        self.live.append((frame, float(amplitude)))

    def value(self, frame: int) -> float:
        self.live = [(f, a) for f, a in self.live if frame - f < len(self.shape)]
        return max((a * self.shape[frame - f] for f, a in self.live if frame >= f), default=0.0)


class UpperFace:
    """One head's upper face, a frame at a time (see the module docstring). Its state is
    all it carries across turns: the running pitch and level, the last frames' measures and
    neck pitch, the live bumps.

    Feed it frame by frame: :meth:`hear` frame f + 1's prosody, then :meth:`emit` frame f
    (its generated neck pitch -> its upper-face values); frame 0 is heard before the first
    pair."""

    def __init__(self):
        self.frame = 0                             # next frame to emit
        self.heard = 0                             # frames heard so far
        self.semitones: list[float] = []           # the last MEDIAN_FRAMES voiced pitches
        self.peak_db = -np.inf                     # running peak level, dBFS
        # (voice on, prominence or nan) of frames frame - TALK_HANGOVER .. frame + 1
        self.recent: list[tuple[bool, float]] = []
        self.last_accent = -10 ** 9
        self.neck: list[float] = []                # the last NOD_FRAMES + 2 neck pitches
        self.last_nod = -10 ** 9
        self.brows = Bumps(BROW_PULSE)
        self.reaction_brows = Bumps(BROW_PULSE)
        self.smiles = Bumps(SMILE_PULSE)

    def hear(self, db: float, f0: float, strength: float) -> None:
        """The next frame's loudness (dBFS), pitch (Hz) and voicing strength (0..1)."""
        self.peak_db = max(float(db), self.peak_db - PEAK_DECAY_DB)
        voice = bool(db > max(self.peak_db - VOICE_BELOW_PEAK_DB, VOICE_FLOOR_DB))
        prominence = np.nan              # not a loud voiced frame
        if voice and strength > VOICING_STRENGTH and f0 > 0:
            st = 12.0 * float(np.log2(f0))
            if len(self.semitones) >= MEDIAN_MIN_FRAMES and db > self.peak_db - LOUD_BELOW_PEAK_DB:
                rise = st - float(np.median(self.semitones))
                prominence = rise if rise < OCTAVE_GLITCH_SEMITONES else np.nan
            self.semitones.append(st)
            del self.semitones[:-MEDIAN_FRAMES]
        self.recent.append((voice, prominence))
        del self.recent[:-(TALK_HANGOVER + 2)]
        self.heard += 1

    def emit(self, neck_pitch: float) -> np.ndarray:
        """(len(UPPER_CHANNELS),) values of the next frame, given its generated neck pitch
        (rad, chin down > 0)."""
        f = self.frame
        if self.heard != f + 2:
            raise ValueError(f"frame {f} is emitted right after frame {f + 1}'s prosody, "
                             f"not after frame {self.heard - 1}'s")
        (_, before), (_, prom), (voice_next, after) = ([(False, np.nan)] * 3 + self.recent)[-3:]
        if _is_accent(before, prom, after) and f - self.last_accent >= ACCENT_SPACING:
            self.brows.start(f, min(BROW_MAX, BROW_PER_SEMITONE * prom))
            self.last_accent = f
        talking = any(voice for voice, _ in self.recent[:-1])     # frames f - 5 .. f
        depth = self._nod_depth(float(neck_pitch))
        if depth >= NOD_RAD and not talking and f - self.last_nod >= NOD_SPACING:
            t = min(1.0, (depth - NOD_RAD) / NOD_RAD)
            smile = SMILE_RANGE[0] + t * (SMILE_RANGE[1] - SMILE_RANGE[0])
            self.smiles.start(f, smile)
            self.reaction_brows.start(f, REACTION_BROW * smile / SMILE_RANGE[1])
            self.last_nod = f
        gate = 0.0 if talking else (0.5 if voice_next else 1.0)
        smile = gate * self.smiles.value(f)
        brow = max(self.brows.value(f), gate * self.reaction_brows.value(f))
        self.frame += 1
        return np.array([brow] * len(BROWS) + [smile] * len(SMILE)
                        + [smile * CHEEK_PER_SMILE] * len(CHEEK), dtype=np.float32)

    def _nod_depth(self, pitch: float) -> float:
        """The depth (rad) of a nod whose lowest point was the previous frame, else 0."""
        self.neck.append(pitch)
        del self.neck[:-(NOD_FRAMES + 2)]
        if len(self.neck) < 3:
            return 0.0
        before, lowest_chin, now = self.neck[-3:]
        if not (lowest_chin >= before and now < lowest_chin):
            return 0.0
        return lowest_chin - min(self.neck[:-1])


def _is_accent(before: float, prom: float, after: float) -> bool:
    """Is the middle of three frames' prominences (semitones, nan where not a loud voiced
    frame) an accent: high enough, the contour's peak, and a contour (a neighbour voiced
    within CONTOUR_STEP semitones of it), not one frame the tracker got wrong?"""
    if not prom >= ACCENT_SEMITONES:
        return False
    if before > prom or after >= prom:          # comparisons with nan are False
        return False
    return abs(prom - before) <= CONTOUR_STEP or abs(prom - after) <= CONTOUR_STEP


def apply_upper(face: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(T, 67) face frames with (T, len(UPPER_CHANNELS)) upper-face values joined by the
    maximum (a copy; every other channel as it was)."""
    out = np.array(face, dtype=np.float32, copy=True)
    idx = list(UPPER_CHANNELS)
    out[:, idx] = np.minimum(1.0, np.maximum(out[:, idx], values))
    return out
