# SPDX-License-Identifier: GPL-3.0-or-later
"""TIMAR for Blender: two talking heads that listen and react, generated from the audio of
a conversation by the TIMAR model (see README_SECTION.md). Each module owns its classes.

Blender (``bpy``) and the UI modules are imported by ``register()``, not here, so the pure
helpers (``rig.preset``, ``rig.motion``, ``rig.targets``, ``batch.manifest``,
``batch.progress``, ``torch_plan``, ...) import without Blender.

Layout: ``core.py`` (the door into model_core), ``errors.py``; the generation (``generation``,
``messages``, ``jobs``); the UI (``prefs``, ``props``, ``ui``, ``ops_generate``,
``ops_scene``, ``model_choice``); ``rig/`` (FLAME motion onto a head's rig); ``batch/``
(headless batches); the stage (``scene_setup``, ``demo_head``, ``sequencer``); PyTorch's
install (``torch_plan``, ``torch_check``, ``installer``, ``site_packages``)."""
from __future__ import annotations

import atexit

_modules: tuple = ()        # the UI modules, in registration order (set by register)
_registered = False


def _on_load_pre(*_args):
    """load_pre handler (made persistent by register): stop a run before its heads vanish."""
    from . import jobs
    jobs.shutdown()   # the heads being written are about to disappear


def _at_exit():
    """Interpreter exit: stop the worker and the timer (a timer left registered crashes
    4.2 and hangs 4.5). As the bpy module, also unregister: the 4.2 module segfaults at
    exit with operators or handlers still registered; the Blender app tidies up itself."""
    import bpy

    from . import jobs
    jobs.shutdown()
    if _registered and getattr(bpy.app, "module", bpy.app.binary_path == ""):
        unregister()


def register():
    global _registered, _modules
    import bpy
    from bpy.app.handlers import persistent

    from . import ops_generate, ops_scene, prefs, props, ui
    _modules = (prefs, props, ops_generate, ops_scene, ui)
    for module in _modules:
        module.register()
    bpy.app.handlers.load_pre.append(persistent(_on_load_pre))
    atexit.register(_at_exit)
    _registered = True


def unregister():
    """Safe to call again (Blender disabling the add-on after the exit hook already did)."""
    global _registered
    if not _registered:
        return
    import bpy

    from . import jobs
    _registered = False
    jobs.shutdown()
    atexit.unregister(_at_exit)
    if _on_load_pre in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_on_load_pre)
    for module in reversed(_modules):
        try:
            module.unregister()
        except RuntimeError as exc:   # a class Blender already dropped while shutting down
            print(f"TIMAR: unregister: {exc}")
