"""Up-front checks of generation options, so a bad value fails in one line before any
work instead of as a traceback or a silently wrong (NaN) result."""
from __future__ import annotations

import math

from .errors import TimarError

MAX_SEED = 2**63 - 1
MAX_TEMPERATURE = 10.0        # beyond this the diffusion samples are noise, not motion
MAX_STEPS = 1000


class OptionError(TimarError):
    """A generation option is out of range."""


def check_generation_options(*, seed: int = 0, temperature: float = 1.0, steps: int = 5,
                             context_turns: int | None = None, window_turns: int | None = None,
                             noise_time_constant: float = 0.0) -> None:
    """Raise OptionError for the first option out of range (one line, with the range)."""
    if not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise OptionError(f"seed must be a whole number from 0 to {MAX_SEED} (2^63 - 1), got {seed}")
    t = float(temperature)
    if not math.isfinite(t) or not 0.0 <= t <= MAX_TEMPERATURE:
        raise OptionError(f"temperature must be a number from 0 to {MAX_TEMPERATURE:g} "
                          f"(1 is the model's own spread), got {temperature}")
    if not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise OptionError(f"diffusion steps must be from 1 to {MAX_STEPS}, got {steps}")
    if context_turns is not None and window_turns is not None \
            and not 0 <= context_turns < window_turns:
        raise OptionError(f"context turns must be between 0 and {window_turns - 1}, "
                          f"got {context_turns}")
    n = float(noise_time_constant)
    if not math.isfinite(n) or not 0.0 <= n <= 1000.0:
        raise OptionError(f"motion coherence (noise time constant) must be from 0 to 1000 "
                          f"frames, got {noise_time_constant}")
