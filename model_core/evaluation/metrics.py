"""DualTalk benchmark metrics for one clip, their average over clips, and the paper's table.

Per motion group (exp 0:50, jaw 50:53, pose = neck 53:56 of the model's 56-vector):

- ``fd``: Frechet distance between Gaussians fitted (mean, covariance over frames) to the
  predicted and the ground-truth frames.
- ``pfd``: the same on frames with the partner's ground-truth motion (same group)
  concatenated to each frame: the joint distribution of the two heads.
- ``mse``: mean squared error to the ground truth.
- ``sid``: k-means (k = 40 exp, 10 jaw/pose, seed 0, k <= frames) fitted on the ground truth,
  predicted frames assigned, entropy in bits of their cluster histogram. ``sid_gt`` is the
  ground truth's own entropy under that clustering (the value a perfect prediction gets).
- ``rsid``: "reverse SID", the DualTalk script's way: k-means fitted on the prediction,
  ground-truth frames assigned, entropy of their histogram.
- ``rpcc``: |PCC(gt, partner) - PCC(pred, partner)| over the flattened sequences.
- and the metrics of motion over time in :mod:`.motion_time` (velocity, acceleration,
  energy above 4 Hz, turn seams), which the frame-bag metrics above cannot see.

Values here are raw; ``scale_metrics`` applies the published table's factors. Metrics that
need the partner are ``None`` when the partner's motion is unknown.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from ..constants import GROUPS, MOTION_DIM
from .motion_time import aggregate_time, mean_over_clips, time_metrics
CLUSTERS: dict[str, int] = {"exp": 40, "jaw": 10, "pose": 10}
METRICS = ("fd", "pfd", "mse", "sid", "sid_gt", "rsid", "rpcc")
PARTNER_METRICS = ("pfd", "rpcc")

# Factors of the published table (P-FD like FD; SID unscaled).
SCALES: dict[str, dict[str, float]] = {
    "fd": {"exp": 1.0, "jaw": 1e3, "pose": 1e2},
    "pfd": {"exp": 1.0, "jaw": 1e3, "pose": 1e2},
    "mse": {"exp": 10.0, "jaw": 1e3, "pose": 1e2},
    "rpcc": {"exp": 1e2, "jaw": 10.0, "pose": 10.0},
}

# Column headers of the printed table, in order.
TABLE_METRICS: dict[str, str] = {
    "fd": "FD", "pfd": "P-FD", "mse": "MSE", "sid": "SID", "rsid": "rSID", "rpcc": "rPCC"}


def key(metric: str, group: str) -> str:
    """Name of one value in a metrics dict, e.g. ``fd_exp``."""
    return f"{metric}_{group}"


# ----------------------------------------------------------------------------- Frechet


def gaussian_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) over frames of (T, D); zero cov for T < 2."""
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(axis=0)
    if x.shape[0] < 2:
        return mu, np.zeros((x.shape[1], x.shape[1]))
    return mu, np.atleast_2d(np.cov(x, rowvar=False))


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """Symmetric square root of a (numerically) positive semi-definite matrix."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray,
                     mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    Tr((S1 S2)^(1/2)) is computed as Tr((R S2 R)^(1/2)) with R = S1^(1/2): the two matrices
    are similar, and R S2 R is symmetric PSD, so its square root comes from a symmetric
    eigendecomposition with no complex round-off and no failure on singular covariances
    (what ``scipy.linalg.sqrtm(S1 @ S2)`` struggles with). Tiny negative results are
    clipped to 0.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError(f"shape mismatch: {mu1.shape}/{s1.shape} vs {mu2.shape}/{s2.shape}")
    r = _psd_sqrt(s1)
    m = r @ ((s2 + s2.T) / 2) @ r
    tr_covmean = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum())
    diff = mu1 - mu2
    fd = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)
    return max(fd, 0.0)


def fd(pred: np.ndarray, gt: np.ndarray) -> float:
    """Frechet distance between frame Gaussians of two (T, D) sequences."""
    return frechet_distance(*gaussian_stats(pred), *gaussian_stats(gt))


def paired_fd(pred: np.ndarray, gt: np.ndarray, partner: np.ndarray) -> float:
    """FD of [partner ++ pred] frames against [partner ++ gt] frames."""
    return fd(np.concatenate([partner, pred], axis=1), np.concatenate([partner, gt], axis=1))


# ----------------------------------------------------------------------------- SID


def _sq_dists(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(N, K) squared Euclidean distances between rows of x and rows of c."""
    d = (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]
    return np.maximum(d, 0.0)


def kmeans(x: np.ndarray, k: int, seed: int = 0, max_iter: int = 100) -> np.ndarray:
    """Deterministic k-means: k-means++ seeding from ``seed``, then Lloyd iterations.

    Returns (K', D) centres with K' = min(k, frames), or fewer when the data holds fewer
    distinct points. Empty clusters keep their previous centre.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n == 0:
        raise ValueError("k-means needs at least one frame")
    k = max(1, min(int(k), n))
    rng = np.random.default_rng(seed)
    centres = [x[int(rng.integers(n))]]
    d2 = _sq_dists(x, centres[0][None])[:, 0]
    for _ in range(1, k):
        total = d2.sum()
        if total <= 0.0:
            break  # every remaining point coincides with a centre
        idx = int(rng.choice(n, p=d2 / total))
        centres.append(x[idx])
        d2 = np.minimum(d2, _sq_dists(x, x[idx][None])[:, 0])
    c = np.stack(centres)
    for _ in range(max_iter):
        labels = _sq_dists(x, c).argmin(1)
        sums = np.zeros_like(c)
        np.add.at(sums, labels, x)
        counts = np.bincount(labels, minlength=len(c))
        new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], c)
        if np.allclose(new, c, rtol=0.0, atol=1e-12):
            break
        c = new
    return c


def histogram_entropy(labels: np.ndarray, k: int) -> float:
    """Entropy in bits of the histogram of integer labels in [0, k)."""
    p = np.bincount(np.asarray(labels, dtype=np.int64), minlength=k).astype(np.float64)
    p = p[p > 0] / p.sum()
    return max(0.0, float(-(p * np.log2(p)).sum()))   # never -0.0


def cluster_entropy(centres: np.ndarray, frames: np.ndarray) -> float:
    """Entropy (bits) of the histogram of ``frames`` assigned to their nearest centre."""
    labels = _sq_dists(np.asarray(frames, np.float64), centres).argmin(1)
    return histogram_entropy(labels, len(centres))


def sid(fit: np.ndarray, assign: np.ndarray, k: int, seed: int = 0) -> float:
    """Entropy (bits) of ``assign``'s frames over the k-means clusters fitted on ``fit``."""
    return cluster_entropy(kmeans(fit, min(k, len(fit)), seed=seed), assign)


# ----------------------------------------------------------------------------- rPCC


def pcc(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two flattened arrays; 0 when either is constant."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    denom = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / denom if denom > 0 else 0.0


def rpcc(pred: np.ndarray, gt: np.ndarray, partner: np.ndarray) -> float:
    """|PCC(gt, partner) - PCC(pred, partner)|."""
    return abs(pcc(gt, partner) - pcc(pred, partner))


# ----------------------------------------------------------------------------- per clip


def _check(name: str, x: np.ndarray, frames: int | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != MOTION_DIM:
        raise ValueError(f"{name} must be (T, 56), got {x.shape}")
    if frames is not None and x.shape[0] != frames:
        raise ValueError(f"{name} has {x.shape[0]} frames, expected {frames}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} has no frames")
    return x


def clip_metrics(pred: np.ndarray, gt: np.ndarray, partner: np.ndarray | None = None,
                 seed: int = 0) -> dict[str, float | None]:
    """All raw metrics of one clip. pred, gt, partner: (T, 56) in model order.

    With ``partner=None`` (partner motion unknown) ``pfd_*`` and ``rpcc_*`` are None.
    """
    gt = _check("gt", gt)
    pred = _check("pred", pred, gt.shape[0])
    if partner is not None:
        partner = _check("partner", partner, gt.shape[0])
    out: dict[str, float | None] = {}
    for group, sl in GROUPS.items():
        p, g = pred[:, sl], gt[:, sl]
        k = CLUSTERS[group]
        out[key("fd", group)] = fd(p, g)
        out[key("pfd", group)] = None if partner is None else paired_fd(p, g, partner[:, sl])
        out[key("mse", group)] = float(np.mean((p - g) ** 2))
        centres = kmeans(g, k, seed=seed)
        out[key("sid", group)] = cluster_entropy(centres, p)
        out[key("sid_gt", group)] = cluster_entropy(centres, g)
        out[key("rsid", group)] = sid(p, g, k, seed)
        out[key("rpcc", group)] = None if partner is None else rpcc(p, g, partner[:, sl])
    out.update(time_metrics(pred, gt))
    return out


def aggregate(clips: Iterable[Mapping[str, float | None]]) -> dict[str, float | None]:
    """Mean of each metric over clips, skipping None/NaN values; None where none is left.

    Adds ``num_clips``, and ``num_clips_with_partner`` (clips that had P-FD/rPCC).
    """
    clips = list(clips)
    names = [key(m, g) for m in METRICS for g in GROUPS]
    out: dict[str, float | None] = {}
    for name in names:
        out[name] = mean_over_clips(clips, name)
    out.update(aggregate_time(clips))
    out["num_clips"] = len(clips)
    out["num_clips_with_partner"] = sum(1 for c in clips if c.get("pfd_exp") is not None)
    return out


def scale_metrics(metrics: Mapping[str, float | None]) -> dict[str, float | None]:
    """Apply the published table's factors (FD-jaw x1e3, MSE-exp x10, ...)."""
    out: dict[str, float | None] = {}
    for m in METRICS:
        for g in GROUPS:
            v = metrics.get(key(m, g))
            out[key(m, g)] = None if v is None else float(v) * SCALES.get(m, {}).get(g, 1.0)
    return out


def _fmt(value: float) -> str:
    """Three decimals while they fit in the column, fewer for large numbers."""
    mag = abs(value)
    return f"{value:.3f}" if mag < 1e3 else f"{value:.1f}" if mag < 1e5 else f"{value:.3g}"


def _row_label(label: object) -> str:
    return f"n={label}" if isinstance(label, int) else str(label)


def format_table(results_by_context: Mapping[object, Mapping[str, float | None]],
                 title: str = "", columns: Mapping[str, str] = TABLE_METRICS) -> str:
    """Paper-style table of raw aggregated metrics, scaled as published.

    Rows are the mapping's keys (ints print as ``n=<context>``, strings as method names);
    columns are metric x group. Absent values print as ``-``.
    """
    rows = {_row_label(k): scale_metrics(v) for k, v in results_by_context.items()}
    lw = max([len(r) for r in rows] + [6])
    cw = 9
    groups = list(GROUPS)
    top = " " * lw + "".join(f"{h:^{cw * len(groups)}}" for h in columns.values())
    sub = " " * lw + "".join(f"{g:>{cw}}" for _ in columns for g in groups)
    lines = ([title] if title else []) + [top, sub, "-" * len(sub)]
    for label, vals in rows.items():
        cells = []
        for m in columns:
            for g in groups:
                v = vals.get(key(m, g))
                cells.append(f"{'-':>{cw}}" if v is None else f"{_fmt(v):>{cw}}")
        lines.append(f"{label:<{lw}}" + "".join(cells))
    lines.append("scale: FD/P-FD exp x1 jaw x1e3 pose x1e2; MSE x10 x1e3 x1e2; "
                 "rPCC x1e2 x10 x10; SID in bits")
    return "\n".join(lines)
