"""Metrics of motion over time, which FD, MSE and SID cannot see (they treat frames as a bag:
white noise added to every frame barely moves them, while it makes a head shake).

Per motion group (exp, jaw, pose = neck), for a (T, 56) sequence at 25 fps:

- ``vel``: mean absolute frame-to-frame change (per frame and dimension);
- ``acc``: mean absolute second difference;
- ``hf``: share of the signal's energy above 4 Hz (mean removed per dimension; real head and
  face motion has almost none, per-frame jitter puts most of its energy there);
- ``seam``: mean jump (Euclidean, over the group's dimensions) from the last frame of a 1 s
  turn to the first of the next, divided by the mean jump between neighbouring frames inside
  turns. 1 = turn boundaries are invisible; a seamed generator gives several;
- ``std``: the spread, mean over the group's dimensions of the standard deviation over time
  (a smooth but nearly still head has a tiny one).

The evaluation reports ``vel``, ``acc`` and ``std`` as ratios to the reference motion (1 = as
lively as the real thing) beside ``hf`` and ``seam`` of both.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from ..constants import FPS, GROUPS, TURN_FRAMES

HIGH_HZ = 4.0
TIME_METRICS = ("vel", "acc", "hf", "seam", "std")
RATIO_METRICS = ("vel", "acc", "std")     # reported as prediction / reference


def mean_abs_velocity(x: np.ndarray) -> float:
    """x (T, D) -> mean |x[t+1] - x[t]|; 0 for T < 2."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.abs(np.diff(x, axis=0)).mean()) if len(x) > 1 else 0.0


def mean_abs_acceleration(x: np.ndarray) -> float:
    """x (T, D) -> mean |x[t+1] - 2 x[t] + x[t-1]|; 0 for T < 3."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.abs(np.diff(x, n=2, axis=0)).mean()) if len(x) > 2 else 0.0


def high_frequency_share(x: np.ndarray, fps: float = FPS, cutoff_hz: float = HIGH_HZ) -> float:
    """x (T, D) -> share of the (mean-removed) energy at frequencies above ``cutoff_hz``;
    0 for a constant signal."""
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=0)
    power = np.abs(np.fft.rfft(x, axis=0)) ** 2                # (F, D)
    freqs = np.fft.rfftfreq(len(x), d=1.0 / fps)
    total = power[freqs > 0].sum()
    return float(power[freqs > cutoff_hz].sum() / total) if total > 0 else 0.0


def seam_ratio(x: np.ndarray, turn_frames: int = TURN_FRAMES) -> float | None:
    """x (T, D) -> mean jump across turn boundaries / mean jump inside turns; None when
    there is no boundary, or no motion inside turns."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) <= turn_frames:
        return None
    jumps = np.linalg.norm(np.diff(x, axis=0), axis=1)        # jumps[i]: frame i -> i + 1
    boundary = (np.arange(len(jumps)) + 1) % turn_frames == 0
    inside = jumps[~boundary].mean()
    return float(jumps[boundary].mean() / inside) if inside > 0 else None


def time_metrics(pred: np.ndarray, gt: np.ndarray) -> dict[str, float | None]:
    """Per group: ``vel/acc/hf/seam_<group>`` of the prediction and ``..._gt_<group>`` of
    the reference. pred, gt: (T, 56) in model order."""
    out: dict[str, float | None] = {}
    for group, sl in GROUPS.items():
        for suffix, x in (("", pred[:, sl]), ("_gt", gt[:, sl])):
            out[f"vel{suffix}_{group}"] = mean_abs_velocity(x)
            out[f"acc{suffix}_{group}"] = mean_abs_acceleration(x)
            out[f"hf{suffix}_{group}"] = high_frequency_share(x)
            out[f"seam{suffix}_{group}"] = seam_ratio(x)
            out[f"std{suffix}_{group}"] = float(np.asarray(x, np.float64).std(axis=0).mean())
    return out


def mean_over_clips(clips: list[Mapping[str, float | None]], name: str) -> float | None:
    """Mean of one metric over clips, skipping None/NaN values; None where none is left."""
    vals = [float(c[name]) for c in clips
            if c.get(name) is not None and math.isfinite(float(c[name]))]
    return float(np.mean(vals)) if vals else None


def aggregate_time(clips: Iterable[Mapping[str, float | None]]) -> dict[str, float | None]:
    """Means over clips of every time metric, plus ``<m>_ratio_<g>`` for m in RATIO_METRICS:
    the prediction's mean over the reference's mean (None where missing)."""
    clips = list(clips)
    out: dict[str, float | None] = {}
    for m in TIME_METRICS:
        for suffix in ("", "_gt"):
            for g in GROUPS:
                name = f"{m}{suffix}_{g}"
                out[name] = mean_over_clips(clips, name)
    for m in RATIO_METRICS:
        for g in GROUPS:
            p, r = out[f"{m}_{g}"], out[f"{m}_gt_{g}"]
            out[f"{m}_ratio_{g}"] = p / r if p is not None and r else None
    return out


def format_time_table(rows: Mapping[str, Mapping[str, float | None]], title: str = "") -> str:
    """Rows of aggregated metrics -> a table: velocity and acceleration as x reference,
    energy above 4 Hz in %, seam ratio; a ``reference`` row shows the real motion's own."""
    cols = [("vel x", "vel_ratio", 1.0), ("acc x", "acc_ratio", 1.0),
            ("std x", "std_ratio", 1.0), (">4Hz %", "hf", 100.0), ("seam", "seam", 1.0)]
    groups = list(GROUPS)
    cw = 8
    labels = list(rows) + ["reference"]
    lw = max(len(label) for label in labels) + 1
    top = " " * lw + "".join(f"{h:^{cw * len(groups)}}" for h, _, _ in cols)
    sub = " " * lw + "".join(f"{g:>{cw}}" for _ in cols for g in groups)
    lines = ([title] if title else []) + [top, sub, "-" * len(sub)]

    def cell(v):
        return f"{'-':>{cw}}" if v is None else f"{v:>{cw}.2f}"

    first = next(iter(rows.values()), {})
    for label in labels:
        vals, cells = rows.get(label, first), []
        for _, name, scale in cols:
            for g in groups:
                if label == "reference":
                    v = 1.0 if name.endswith("ratio") else first.get(f"{name}_gt_{g}")
                else:
                    v = vals.get(f"{name}_{g}")
                cells.append(cell(None if v is None else v * scale))
        lines.append(f"{label:<{lw}}" + "".join(cells))
    lines.append("vel/acc/std: mean absolute velocity/acceleration and spread over the reference's; "
                 ">4Hz: share of energy above 4 Hz; seam: jump across turn boundaries over "
                 "the typical jump inside turns (1 = invisible)")
    return "\n".join(lines)
