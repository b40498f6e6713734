# SPDX-License-Identifier: GPL-3.0-or-later
"""Set-up shared by the tests that drive the add-on in real Blender. Import it after the
test module has imported bpy (and isolated Blender's user folders)."""
from __future__ import annotations

import bpy
import pytest


def registered_addon():
    """Register the repository's add-on as enabling it would (preferences included), yield
    it, and undo it all. For a module-scoped fixture: ``yield from registered_addon()``."""
    import timar_blender
    from timar_blender import jobs

    timar_blender.register()
    entry = bpy.context.preferences.addons.new()   # what enabling it would add: preferences
    entry.module = "timar_blender"
    yield timar_blender
    jobs.shutdown()
    bpy.context.preferences.addons.remove(entry)
    timar_blender.unregister()


@pytest.fixture(scope="module")
def addon():
    """The repository's add-on, registered for one test module (import this fixture)."""
    yield from registered_addon()


def demo_scene(audio: list[str], checkpoint: str, context_turns: int, seed: int,
               steps: int = 2):
    """An empty file with the demo heads at 25 fps, both speakers' audio and the
    generation settings (CPU); returns the scene."""
    bpy.ops.wm.read_homefile(use_empty=True)
    assert bpy.ops.timar.add_demo_heads() == {'FINISHED'}
    sc = bpy.context.scene
    sc.render.fps, sc.render.fps_base = 25, 1.0
    s = sc.timar
    s.speaker_a.audio, s.speaker_b.audio = audio
    s.checkpoint, s.device, s.context_turns, s.steps, s.seed = checkpoint, 'CPU', context_turns, steps, seed
    return sc


@pytest.fixture(name="scene")
def quick_scene(addon, audio_pair, tiny_checkpoint):
    """``scene`` for a module that imports this: the demo heads and the real tiny model at
    its quickest (1 context turn, 1 sampling step); the file is reset afterwards."""
    from timar_blender import jobs

    yield demo_scene(audio_pair, str(tiny_checkpoint), context_turns=1, seed=0, steps=1)
    jobs.shutdown()
    bpy.ops.wm.read_homefile(use_empty=True)
