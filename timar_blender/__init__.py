# SPDX-License-Identifier: GPL-3.0-or-later
"""TIMAR for Blender: two talking heads that listen and react, generated from the audio of
a conversation by the TIMAR model (see README_SECTION.md). Each module owns its classes."""
from __future__ import annotations

import atexit

import bpy
from bpy.app.handlers import persistent

from . import jobs, ops_generate, ops_scene, prefs, props, ui

_modules = (prefs, props, ops_generate, ops_scene, ui)


@persistent
def _on_load_pre(*_args):
    jobs.shutdown()   # the heads being written are about to disappear


def _at_exit():
    jobs.shutdown()   # a timer left registered crashes 4.2 and hangs 4.5 on exit


def register():
    for module in _modules:
        module.register()
    bpy.app.handlers.load_pre.append(_on_load_pre)
    atexit.register(_at_exit)


def unregister():
    jobs.shutdown()
    atexit.unregister(_at_exit)
    if _on_load_pre in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_on_load_pre)
    for module in reversed(_modules):
        module.unregister()
