# SPDX-License-Identifier: GPL-3.0-or-later
"""Sound strips in the Video Sequencer, one place for the names that change between
Blender versions:

- the strip collection is ``sequence_editor.sequences`` on 4.2, both names on 4.5 and
  ``sequence_editor.strips`` from 5.0 on;
- 5.2 renames the frame range: ``left_handle`` / ``right_handle`` (the visible range, the
  old ``frame_final_start`` / ``frame_final_end``) and ``content_start`` (the old
  ``frame_start``); the old names warn that they go in Blender 6.0.

Each helper takes the newer name where the strip has it, so nothing deprecated is read."""
from __future__ import annotations


def strips(sequence_editor):
    """The editor's top-level strip collection (``new_sound``, ``remove``, iteration)."""
    if hasattr(sequence_editor, "strips"):
        return sequence_editor.strips
    return sequence_editor.sequences


def _get(strip, new: str, old: str):
    # The newer name first: reading the old one on 5.2+ raises a DeprecationWarning.
    return getattr(strip, new) if hasattr(strip, new) else getattr(strip, old)


def visible_start(strip) -> int:
    """First frame the strip plays (after any trim)."""
    return int(_get(strip, "left_handle", "frame_final_start"))


def visible_end(strip) -> int:
    """The frame after the strip's last one (exclusive end, after any trim)."""
    return int(_get(strip, "right_handle", "frame_final_end"))


def content_start(strip) -> float:
    """Where the strip's content (frame 0 of the sound) sits on the timeline."""
    return float(_get(strip, "content_start", "frame_start"))
