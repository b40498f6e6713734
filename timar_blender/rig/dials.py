# SPDX-License-Identifier: GPL-3.0-or-later
"""The five strengths an animator sets per head: jaw, lips, expression (brows, nose,
squints, FLAME's expression space), head motion and eyes (gaze). 1 is the model as it is,
0 switches that part off, 2 doubles it. Written as text in the batch (``--dials-a
jaw=1.2,eyes=0``, manifest columns ``dials_a``/``dials_b``). No bpy."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import UserError

DIAL_MAX = 5.0


class DialsError(UserError, ValueError):
    """A dials text cannot be read; the message says which part and what to write."""


@dataclass(frozen=True)
class Dials:
    jaw: float = 1.0
    lips: float = 1.0
    expression: float = 1.0
    head: float = 1.0
    eyes: float = 1.0

    def as_dict(self) -> dict:
        return asdict(self)


NAMES = tuple(Dials.__dataclass_fields__)
_SPELLINGS = {"head_motion": "head", "headmotion": "head", "brows": "expression",
              "expr": "expression", "exp": "expression", "gaze": "eyes", "mouth": "lips"}


def parse_dials(text: str | None, base: Dials | None = None) -> Dials:
    """'jaw=1.2, lips=0.8' -> Dials (unnamed dials keep ``base``'s values, default 1)."""
    values = (base or Dials()).as_dict()
    for part in (text or "").replace(";", ",").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        key = name.strip().lower().replace("-", "_")
        key = _SPELLINGS.get(key, key)
        if not sep or key not in values:
            raise DialsError(f"dials: cannot read '{part.strip()}'; write NAME=VALUE pairs "
                             f"separated by commas, NAME one of {', '.join(NAMES)} "
                             "(e.g. jaw=1.2,eyes=0)")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not 0.0 <= number <= DIAL_MAX:
            raise DialsError(f"dials: {key} must be a number from 0 to {DIAL_MAX:g}, "
                             f"got '{value.strip()}'")
        values[key] = number
    return Dials(**values)


def format_dials(dials: Dials) -> str:
    return ",".join(f"{k}={v:g}" for k, v in dials.as_dict().items())
