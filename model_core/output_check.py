"""Generated motion is checked before anyone uses it.

A model whose weights are broken (scaled, cast, diverged) still runs and returns numbers;
written out they are a file of garbage with exit status 0. Every generated turn must be
finite and within OUTPUT_MARGIN times the FLAME ranges a motion file must respect to be
read (``flame.EXP_LIMIT`` 50 and ``POSE_LIMIT`` 3.2 rad; the real DualTalk demo peaks at
4.3): generous enough for an untrained or unusual model (random test models reach 3.9 rad),
far below what broken weights make (weights scaled by 50 give 3e7). A turn outside is a
ModelOutputError naming the checkpoint, raised before the turn is handed out, so nothing is
written from it."""
from __future__ import annotations

import numpy as np

from .errors import TimarError
from .face.flame import EXP_LIMIT, POSE_LIMIT, motion_peaks

OUTPUT_MARGIN = 4.0
GENERATED_EXP_LIMIT = OUTPUT_MARGIN * EXP_LIMIT          # 200
GENERATED_POSE_LIMIT = OUTPUT_MARGIN * POSE_LIMIT        # 12.8 rad


class ModelOutputError(TimarError):
    """The model generated motion that cannot be real (NaN, infinite, far out of range)."""


def check_generated_motion(motion: np.ndarray, source: str, turn: int) -> None:
    """Raise ModelOutputError when (n, 56) generated motion of turn ``turn`` (0-based) is not
    finite or is outside FLAME's ranges; ``source`` names the checkpoint."""
    if not np.isfinite(motion).all():
        raise ModelOutputError(
            f"the model produced NaN or infinite motion at turn {turn + 1} (checkpoint "
            f"{source}: broken weights or an extreme option); nothing was written")
    exp_peak, pose_peak = motion_peaks(motion)
    if exp_peak > GENERATED_EXP_LIMIT or pose_peak > GENERATED_POSE_LIMIT:
        raise ModelOutputError(
            f"the model produced motion far outside FLAME's ranges at turn {turn + 1} "
            f"(largest expression coefficient {exp_peak:.3g}, limit {GENERATED_EXP_LIMIT:g}; "
            f"largest jaw/neck rotation {pose_peak:.3g} rad, limit {GENERATED_POSE_LIMIT:g}): the weights of "
            f"checkpoint {source} are broken or not a TIMAR model; use another checkpoint; "
            "nothing was written")
