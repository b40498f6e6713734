"""Trivial reference methods: what any learned model must beat.

- ``StaticMean``: a frozen head holding the mean motion. With a training-set mean (from
  ``training_mean``) it is a fair baseline. Without one it holds the mean of the agent's own
  ground truth for that clip: an *oracle* (it knows the answer's average), so its FD has no
  mean term and its MSE is the clip's variance; name it accordingly when reporting.
- ``Mirror``: the partner's real motion copied as the prediction (skips clips whose partner
  motion is unknown). It measures how much of a score plain imitation of the partner earns.
"""
from __future__ import annotations

import glob
import os

import numpy as np

from ..constants import MOTION_DIM
from ..errors import TimarError
from ..evaluation.protocol import AgentClip
from ..face.flame import load_motion_npz


def training_mean(split_dir: str | os.PathLike) -> np.ndarray:
    """Frame-weighted mean (56,) of every ``*_speaker[12].npz`` motion file in a folder."""
    paths = sorted(glob.glob(os.path.join(os.fspath(split_dir), "*_speaker[12].npz")))
    if not paths:
        raise TimarError(f"no <id>_speakerN.npz motion files in {split_dir}")
    total = np.zeros(MOTION_DIM, dtype=np.float64)
    count = 0
    for path in paths:
        motion = load_motion_npz(path)
        total += motion.sum(axis=0, dtype=np.float64)
        count += len(motion)
    return (total / count).astype(np.float32)


class StaticMean:
    """Predicts one constant frame: the training mean, or the clip's own ground-truth mean."""

    context = None

    def __init__(self, mean: np.ndarray | None = None, name: str | None = None):
        self.mean = None if mean is None else np.asarray(mean, np.float32).reshape(MOTION_DIM)
        self.name = name or ("static mean (train)" if mean is not None
                             else "static mean (clip oracle)")

    def predict(self, clip: AgentClip) -> np.ndarray:
        mean = self.mean if self.mean is not None else clip.motion_agent.mean(axis=0)
        return np.repeat(mean[None].astype(np.float32), clip.frames, axis=0)


class Mirror:
    """Predicts the partner's real motion; None (skipped) when it is unknown."""

    context = None
    name = "mirror partner"

    def predict(self, clip: AgentClip) -> np.ndarray | None:
        if clip.motion_user is None:
            return None
        return np.array(clip.motion_user, dtype=np.float32, copy=True)
