"""A generated head <-> a Live Link Face take.

Out: a head's (T, 56) FLAME motion and (T, 67) face frames at 25 fps -> a take whose ARKit
weights are the face frame's 52 (``face_from_flame`` where the model has no mouth head)
and whose head rotation is the FLAME neck as yaw/pitch/roll (``head_angles``). The eyes'
rotation columns are written as 0: the model moves the eyes through the eyeLook* weights.

In: a take (from the app or from us) -> (T, 56) FLAME motion and (T, 67) face frames at
25 fps, resampled linearly on the take's timecodes: the neck from the head's yaw, pitch and
roll, the jaw's opening from jawOpen (the inverse of ``face_from_flame``), the 50
expression coefficients 0 (an ARKit take says nothing about FLAME's expression space); the
face frame carries the take's 52 ARKit weights and the visemes ``face_from_flame`` gives
for that jaw. This is what ``--motion-a x.csv`` keys onto a head.
"""
from __future__ import annotations

import numpy as np

from ..constants import FPS, JAW, MOTION_DIM, NECK
from ..errors import LiveLinkError
from .channels import ARKIT, ARKIT_DIM, ARKIT_INDEX, FACE_DIM, face_from_flame, jaw_rad_from_open
from .head_angles import neck_to_yaw_pitch_roll, yaw_pitch_roll_to_neck
from .livelink import LiveLinkTake, read_livelink_csv


def take_from_head(motion: np.ndarray, face: np.ndarray | None = None) -> LiveLinkTake:
    """(T, 56) motion and optional (T, 67) face frames at 25 fps -> a 25 fps take."""
    motion = np.asarray(motion, dtype=np.float64)
    if motion.ndim != 2 or motion.shape[1] != MOTION_DIM or len(motion) == 0:
        raise ValueError(f"motion must be (T, {MOTION_DIM}) with T > 0, got {motion.shape}")
    if face is None:
        face = face_from_flame(motion)
    face = np.asarray(face, dtype=np.float64)
    if face.shape != (len(motion), FACE_DIM):
        raise ValueError(f"face frames must be ({len(motion)}, {FACE_DIM}), got {face.shape}")
    n = len(motion)
    return LiveLinkTake(times=np.arange(n) / FPS, arkit=face[:, ARKIT],
                        head=neck_to_yaw_pitch_roll(motion[:, NECK]), eyes=np.zeros((n, 6)),
                        fps=float(FPS))


def resample_take(take: LiveLinkTake, fps: float = FPS) -> LiveLinkTake:
    """The take on a regular grid at ``fps`` from its first to its last timecode (linear)."""
    duration = float(take.times[-1])
    n = int(np.floor(duration * fps + 1e-6)) + 1
    grid = np.arange(n) / fps
    if len(take.times) == n and np.allclose(take.times, grid, atol=1e-6):
        return take

    def on_grid(values: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(grid, take.times, v) for v in values.T], axis=1)
    # Angles are interpolated as angles: a yaw stepping across +-pi is unwrapped first.
    return LiveLinkTake(times=grid, arkit=on_grid(take.arkit),
                        head=on_grid(np.unwrap(take.head, axis=0)),
                        eyes=on_grid(np.unwrap(take.eyes, axis=0)), fps=float(fps),
                        missing=list(take.missing), skipped_frames=take.skipped_frames)


def head_from_take(take: LiveLinkTake) -> tuple[np.ndarray, np.ndarray]:
    """A take -> ((T, 56) float32 FLAME motion, (T, 67) float32 face frames) at 25 fps."""
    take = resample_take(take, FPS)
    n = len(take.times)
    motion = np.zeros((n, MOTION_DIM), dtype=np.float64)
    motion[:, NECK] = yaw_pitch_roll_to_neck(take.head)
    motion[:, JAW.start] = jaw_rad_from_open(take.arkit[:, ARKIT_INDEX["jawOpen"]])
    face = face_from_flame(motion.astype(np.float32))
    face[:, :ARKIT_DIM] = take.arkit
    return motion.astype(np.float32), face.astype(np.float32)


def load_livelink_motion(path) -> tuple[np.ndarray, np.ndarray]:
    """A Live Link Face CSV -> ((T, 56) motion, (T, 67) face frames) at 25 fps."""
    take = read_livelink_csv(path)
    if np.abs(take.head).max(initial=0.0) > np.pi:
        raise LiveLinkError(f"{path}: head rotations beyond pi; Live Link Face writes radians "
                            "(a file in degrees must be converted first)")
    return head_from_take(take)
