# SPDX-License-Identifier: GPL-3.0-or-later
"""Batch generation without opening Blender: ``python -m timar_blender.batch ARGS`` (or
``main()`` from a script, and inside ``blender -b``; see cli.py for the options).

- ``cli.py``: the arguments, the dialogue loop, the summary and the exit status;
- ``dialogue.py``: one dialogue's stage, takes, .blend, render and report;
- ``manifest.py`` (dialogues and shards), ``outputs.py`` (files and when they are
  complete), ``lock.py``, ``progress.py``, ``mp4.py``: no bpy;
- ``render.py`` (the render child process) and ``contact.py`` (the contact sheet).

The batch never imports the add-on's UI modules (preferences, panel, operators)."""
from __future__ import annotations


def main(argv=None) -> int:
    """Run the batch; ``argv`` None reads sys.argv (after '--' inside Blender). Returns the
    exit status. (Imported here on call, so the bpy-free parts of this package import
    without Blender.)"""
    from .cli import main as run
    return run(argv)
