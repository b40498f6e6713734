"""Paired comparison of evaluated methods, clip by clip.

A mean over a few dozen clips moves with the sampling seed and the clips drawn, so "A is 5%
better than B" says little on its own. Every method of ``evaluate`` is scored on the same
clips (each speaker of each dialogue as the agent), so the per-clip differences are paired:
their mean with a 95% interval (mean +- 1.96 standard errors) says whether a gap is real.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

from ..errors import TimarError
from .metrics import SCALES

DEFAULT_METRICS = ("fd_exp", "fd_jaw", "fd_pose", "mse_exp", "mse_jaw", "mse_pose")


@dataclass
class Comparison:
    method: str
    reference: str
    metric: str
    clips: int               # clips both methods scored
    method_mean: float       # scaled as the published table, over those clips
    reference_mean: float
    diff_mean: float         # method - reference, scaled
    diff_ci95: float         # half-width of the 95% interval of diff_mean

    @property
    def relative(self) -> float:
        """method vs reference in percent (negative = lower than the reference)."""
        return 100.0 * self.diff_mean / self.reference_mean if self.reference_mean else math.nan

    @property
    def significant(self) -> bool:
        return abs(self.diff_mean) > self.diff_ci95


def load_methods(paths: list[str]) -> dict[str, dict]:
    """Methods of one or more ``evaluate --out`` files by name. A name met again in a later
    file is prefixed with that file's stem ("test_full: TIMAR n=7")."""
    methods: dict[str, dict] = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            found = data["methods"]
        except FileNotFoundError:
            raise TimarError(f"{path}: no such file (write one with evaluate --out)")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TimarError(f"{path}: not an evaluate --out file ({exc})")
        stem = os.path.splitext(os.path.basename(path))[0]
        for name, result in found.items():
            methods[f"{stem}: {name}" if name in methods else name] = result
    return methods


def _scale(metric: str) -> float:
    kind, _, group = metric.partition("_")
    return SCALES.get(kind, {}).get(group, 1.0)


def compare(methods: dict[str, dict], reference: str,
            metrics: tuple[str, ...] = DEFAULT_METRICS) -> list[Comparison]:
    """Every method other than ``reference`` against it, per metric, on shared clips."""
    if reference not in methods:
        raise TimarError(f"no method named {reference!r}; the files hold: "
                         + ", ".join(repr(n) for n in methods))
    ref = _per_clip(methods[reference])
    out = []
    for name, result in methods.items():
        if name == reference:
            continue
        mine = _per_clip(result)
        for metric in metrics:
            pairs = [(mine[k][metric], ref[k][metric]) for k in mine.keys() & ref.keys()
                     if mine[k].get(metric) is not None and ref[k].get(metric) is not None]
            if not pairs:
                continue
            s = _scale(metric)
            diffs = [s * (a - b) for a, b in pairs]
            n = len(diffs)
            mean = sum(diffs) / n
            var = sum((d - mean) ** 2 for d in diffs) / (n - 1) if n > 1 else math.inf
            out.append(Comparison(name, reference, metric, n,
                                  s * sum(a for a, _ in pairs) / n,
                                  s * sum(b for _, b in pairs) / n,
                                  mean, 1.96 * math.sqrt(var / n)))
    return out


def _per_clip(result: dict) -> dict[tuple[str, str], dict]:
    return {(c["dialogue"], c["agent"]): c for c in result.get("per_clip", [])}


def format_comparisons(rows: list[Comparison]) -> str:
    if not rows:
        return "no clip was scored by both methods"
    width = max(len(r.method) for r in rows)
    lines = [f"{'method':<{width}}  {'metric':<8} {'clips':>5} {'method':>9} {'reference':>9} "
             f"{'diff':>9} {'95% CI':>8} {'rel':>8}",
             "-" * (width + 64)]
    for r in rows:
        mark = "" if r.significant else "  (within noise)"
        lines.append(f"{r.method:<{width}}  {r.metric:<8} {r.clips:>5} {r.method_mean:>9.3f} "
                     f"{r.reference_mean:>9.3f} {r.diff_mean:>+9.3f} {r.diff_ci95:>8.3f} "
                     f"{r.relative:>+7.1f}%{mark}")
    lines.append(f"reference: {rows[0].reference}; diff = method - reference per clip, "
                 "scaled as the published table; CI = 1.96 standard errors of the paired mean")
    return "\n".join(lines)
