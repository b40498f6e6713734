"""A head's given motion from a file, whatever its kind: a FLAME npz (DualTalk layout) or a
Live Link Face CSV take (converted, ``face.livelink_motion``). What ``--motion-a`` /
``--motion-b`` and the add-on's motion files accept."""
from __future__ import annotations

import os

import numpy as np

from .flame import check_motion_range, load_motion_npz
from .livelink_motion import load_livelink_motion


def is_livelink_csv(path) -> bool:
    return os.fsdecode(path).lower().endswith(".csv")


def load_head_motion(path) -> tuple[np.ndarray, np.ndarray | None]:
    """-> ((T, 56) float32 FLAME motion at 25 fps, (T, 67) face frames or None). A CSV take
    brings its own ARKit weights; a FLAME npz has none (``face_from_flame`` derives them)."""
    if is_livelink_csv(path):
        motion, face = load_livelink_motion(path)
        check_motion_range(motion, os.fspath(path))
        return motion, face
    return load_motion_npz(path), None


def load_motion(path) -> np.ndarray:
    """(T, 56) float32 FLAME motion at 25 fps from a FLAME npz or a Live Link Face CSV."""
    return load_head_motion(path)[0]
