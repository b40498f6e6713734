# SPDX-License-Identifier: GPL-3.0-or-later
"""Every dialogue's inputs checked before the batch does any work, without blocking.

Each input must be a regular file of bounded size (a FIFO, ``/dev/zero`` or a folder is
refused by ``os.stat``, never opened), audio headers within the sample-rate and duration
limits, motion files within their size and dtype limits, a mapping .json readable. A row
whose inputs fail is reported at once with every problem and fails in the summary; the
other rows go on. No bpy."""
from __future__ import annotations

from .. import core
from ..rig.preset import load_preset_file
from .manifest import DialogueSpec


def _check(dialogue: DialogueSpec) -> list[str]:
    problems = []

    def attempt(call, *args):
        try:
            call(*args)
        except core.TimarError as exc:
            problems.append(str(exc))
        except OSError as exc:        # unreadable (permissions, I/O): this row fails, not the batch
            problems.append(f"cannot read {exc.filename or 'an input'} ({exc.strerror or exc})")

    for label in ("audio_a", "audio_b"):
        attempt(core.audio.check_audio_header, getattr(dialogue, label), label)
    for label in ("motion_a", "motion_b"):
        if getattr(dialogue, label):
            attempt(core.load_motion, getattr(dialogue, label))    # a FLAME npz or a Live Link take
    if dialogue.template:
        attempt(core.input_files.check_input_file, dialogue.template, "template",
                core.TimarError, "template")
    if dialogue.preset.lower().endswith(".json"):
        attempt(load_preset_file, dialogue.preset)
    return problems


def input_problems(dialogue: DialogueSpec) -> str | None:
    """Everything wrong with a dialogue's inputs as one line (None: all usable)."""
    problems = _check(dialogue)
    return "; ".join(problems) if problems else None
