# SPDX-License-Identifier: GPL-3.0-or-later
"""What the generation worker tells the main thread, one small class per kind of message.

The worker (generation.run) sends, for each take, a :class:`TurnDone` per turn and a
:class:`TakeDone`, then exactly one of :class:`Finished`, :class:`Cancelled` or
:class:`Failed`. The receiver (jobs.Job.handle) dispatches on the class. No bpy."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class TurnDone:
    """One turn of both heads' motion (a model_core ``Turn``: motion_a, motion_b, index,
    total_turns, audio_seconds_done)."""
    take: int
    turn: Any


@dataclass(frozen=True)
class TakeDone:
    """A take is complete; ``warnings`` are the generator's notes about it."""
    take: int
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Finished:
    """Every take is complete."""


@dataclass(frozen=True)
class Cancelled:
    """The user cancelled; the turns sent before stay."""


@dataclass(frozen=True)
class Failed:
    """Generation stopped. ``traceback`` is set for a bug (not for a user error), to be
    printed on the console."""
    message: str
    traceback: str | None = None


Message = Union[TurnDone, TakeDone, Finished, Cancelled, Failed]
