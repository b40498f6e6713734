"""Conversion between the DualTalk file layout and the model's 56-vector.

Files (DualTalk npz): ``exp`` (T, 50), ``pose`` (T, 6) = neck (0:3) ++ jaw (3:6).
Model: ``exp ++ jaw ++ neck`` (T, 56). Note the jaw/neck order swaps.
"""
from __future__ import annotations

import contextlib
import os
import zipfile

import numpy as np

from ..constants import EXP, EXP_DIM, JAW, MOTION_DIM, NECK
from ..errors import MotionFileError
from ..fileio import atomic_write
from ..input_files import MAX_INPUT_BYTES, check_input_file
from ..npz_check import npz_members
from .channels import ARKIT, ARKIT_NAMES, FACE_DIM, VISEME_NAMES, VISEMES

# Plausible FLAME ranges: tracked expression coefficients stay within about +-10 (the
# DualTalk demo peaks at 4.3) and jaw and neck rotations well within a half turn. Values
# far beyond these are a wrong file (another parameterisation, unscaled units, garbage),
# which would drive the model's partner input far outside anything it was trained on.
EXP_LIMIT = 50.0
POSE_LIMIT = 3.2            # radians, about pi

# An array of a motion file may inflate to at most this (four hours at 25 fps of 50
# float64 coefficients is 288 MB); checked from the zip directory before it is read.
MAX_MOTION_ARRAY_BYTES = 512 << 20


def from_dualtalk(exp: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """(T, 50) exp and (T, 6) pose -> (T, 56) model motion."""
    exp = np.asarray(exp, dtype=np.float32)
    pose = np.asarray(pose, dtype=np.float32)
    return np.concatenate([exp, pose[:, 3:6], pose[:, 0:3]], axis=1)   # exp ++ jaw ++ neck


def to_dualtalk(motion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 56) model motion -> ((T, 50) exp, (T, 6) pose = neck ++ jaw)."""
    motion = np.asarray(motion, dtype=np.float32)
    exp = motion[:, EXP]
    pose = np.concatenate([motion[:, NECK], motion[:, JAW]], axis=1)
    return np.ascontiguousarray(exp), np.ascontiguousarray(pose)


def load_motion_npz(path: str | os.PathLike) -> np.ndarray:
    """Read a DualTalk/FLAME npz and return (T, 56) float32 motion, or raise MotionFileError."""
    path = os.fspath(path)
    check_input_file(path, "motion file", MotionFileError, "motion")
    # Sizes and dtypes from the zip directory and the .npy headers, before any array is read.
    npz_members(path, ("exp", "pose"), min(MAX_MOTION_ARRAY_BYTES, MAX_INPUT_BYTES["motion"]),
                MotionFileError)
    try:
        with np.load(path, allow_pickle=False) as data:
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
    check_motion_range(motion, path)
    return motion


def motion_peaks(motion: np.ndarray) -> tuple[float, float]:
    """(largest |expression coefficient|, largest |jaw/neck rotation|) of (T, 56) motion."""
    return (float(np.abs(motion[:, :EXP_DIM]).max(initial=0.0)),
            float(np.abs(motion[:, EXP_DIM:]).max(initial=0.0)))


def check_motion_range(motion: np.ndarray, name: str) -> None:
    """Raise MotionFileError when (T, 56) motion is far outside FLAME's ranges."""
    exp_peak, pose_peak = motion_peaks(motion)
    if exp_peak > EXP_LIMIT or pose_peak > POSE_LIMIT:
        raise MotionFileError(
            f"{name}: values far outside FLAME's ranges (largest expression coefficient "
            f"{exp_peak:.3g}, limit {EXP_LIMIT:g}; largest jaw/neck rotation {pose_peak:.3g} rad, "
            f"limit {POSE_LIMIT:g}); give FLAME 'exp' coefficients and 'pose' axis-angles in radians")


def write_motion_npz(path: str | os.PathLike, motion: np.ndarray, face: np.ndarray | None = None) -> None:
    """Write (T, 56) motion as a DualTalk npz at ``path`` as it is (no temporary name); with
    ``face`` ((T, 67) face frames) also ``arkit`` (T, 52, Apple's order), ``arkit_names``,
    ``visemes`` (T, 15) and ``viseme_names``."""
    motion = np.asarray(motion, dtype=np.float32)
    if motion.ndim != 2 or motion.shape[1] != MOTION_DIM:
        raise ValueError(f"motion must be (T, {MOTION_DIM}), got {motion.shape}")
    exp, pose = to_dualtalk(motion)
    extra = {}
    if face is not None:
        face = np.asarray(face, dtype=np.float32)
        if face.shape != (len(motion), FACE_DIM):
            raise ValueError(f"face frames must be ({len(motion)}, {FACE_DIM}), got {face.shape}")
        extra = dict(arkit=face[:, ARKIT], arkit_names=np.array(ARKIT_NAMES),
                     visemes=face[:, VISEMES], viseme_names=np.array(VISEME_NAMES))
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"a motion file's name must end in .npz: {path}")
    _write_npz(path, dict(exp=exp, pose=pose, **extra))


def _write_npz(path: str, arrays: dict) -> None:
    """np.savez's layout (a stored zip of .npy members). Written here because np.savez
    leaves its zip file to the garbage collector when a write fails (a full disk), which
    then fails again and prints "Exception ignored" after the real error."""
    zf = zipfile.ZipFile(path, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True)
    try:
        for name, array in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
    except BaseException:
        with contextlib.suppress(OSError):
            zf.close()          # closes the file; nothing is left for the collector
        raise
    zf.close()


def save_motion_npz(path: str | os.PathLike, motion: np.ndarray) -> None:
    """Write (T, 56) motion as a DualTalk npz atomically (no partial file on failure)."""
    atomic_write(path, lambda tmp: write_motion_npz(tmp, motion), suffix=".npz")
