"""Conversion between the DualTalk file layout and the model's 56-vector.

Files (DualTalk npz): ``exp`` (T, 50), ``pose`` (T, 6) = neck (0:3) ++ jaw (3:6).
Model: ``exp ++ jaw ++ neck`` (T, 56). Note the jaw/neck order swaps.
"""
from __future__ import annotations

import os

import numpy as np

from .constants import EXP_DIM, MOTION_DIM
from .errors import MotionFileError
from .fileio import atomic_write


def from_dualtalk(exp: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """(T, 50) exp and (T, 6) pose -> (T, 56) model motion."""
    exp = np.asarray(exp, dtype=np.float32)
    pose = np.asarray(pose, dtype=np.float32)
    return np.concatenate([exp, pose[:, 3:6], pose[:, 0:3]], axis=1)


def to_dualtalk(motion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 56) model motion -> ((T, 50) exp, (T, 6) pose = neck ++ jaw)."""
    motion = np.asarray(motion, dtype=np.float32)
    exp = motion[:, :EXP_DIM]
    pose = np.concatenate([motion[:, 53:56], motion[:, 50:53]], axis=1)
    return np.ascontiguousarray(exp), np.ascontiguousarray(pose)


def load_motion_npz(path: str | os.PathLike) -> np.ndarray:
    """Read a DualTalk/FLAME npz and return (T, 56) float32 motion, or raise MotionFileError."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MotionFileError(f"motion file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            if not {"exp", "pose"} <= keys:
                raise MotionFileError(
                    f"{path}: a FLAME motion file needs arrays 'exp' (T, 50) and 'pose' (T, 6); "
                    f"found {sorted(keys)}")
            exp, pose = data["exp"], data["pose"]
    except MotionFileError:
        raise
    except Exception as exc:  # zip errors, pickled objects, truncated files
        raise MotionFileError(f"{path}: not a readable .npz file ({exc})") from None
    if exp.ndim != 2 or exp.shape[1] != EXP_DIM or pose.ndim != 2 or pose.shape[1] != 6:
        raise MotionFileError(
            f"{path}: expected exp (T, 50) and pose (T, 6), got exp {exp.shape} and pose {pose.shape}")
    if exp.shape[0] != pose.shape[0] or exp.shape[0] == 0:
        raise MotionFileError(
            f"{path}: exp and pose must have the same non-zero number of frames "
            f"(got {exp.shape[0]} and {pose.shape[0]})")
    motion = from_dualtalk(exp, pose)
    if not np.isfinite(motion).all():
        raise MotionFileError(f"{path}: motion holds NaN or infinite values")
    return motion


def save_motion_npz(path: str | os.PathLike, motion: np.ndarray) -> None:
    """Write (T, 56) motion as a DualTalk npz atomically (no partial file on failure)."""
    motion = np.asarray(motion, dtype=np.float32)
    if motion.ndim != 2 or motion.shape[1] != MOTION_DIM:
        raise ValueError(f"motion must be (T, {MOTION_DIM}), got {motion.shape}")
    exp, pose = to_dualtalk(motion)
    atomic_write(path, lambda tmp: np.savez(tmp, exp=exp, pose=pose), suffix=".npz")
