# SPDX-License-Identifier: GPL-3.0-or-later
"""Operators for the stage: demo heads, and the dialogue audio in the sequencer."""
from __future__ import annotations

import bpy

from . import core, scene_setup
from .errors import SceneSetupError
from .operator_guard import guarded


def sample_audio() -> tuple[str, str] | None:
    """The bundled sample dialogue (model_core.assets), when it is there."""
    pair = core.assets.sample_dialogue()
    return (str(pair[0]), str(pair[1])) if pair else None


class TIMAR_OT_add_demo_heads(bpy.types.Operator):
    """Add two procedural heads facing each other, a camera and lights, and pick them as
    speakers A and B (with the bundled sample dialogue when no audio is chosen)"""
    bl_idname = "timar.add_demo_heads"
    bl_label = "Add Demo Heads"
    bl_options = {'REGISTER', 'UNDO'}

    @guarded
    def execute(self, context):
        if context.mode != 'OBJECT':
            self.report({'ERROR'}, "switch to Object Mode to add the demo heads")
            return {'CANCELLED'}
        scene = context.scene
        head_a, head_b = scene_setup.add_demo_heads(scene)
        s = scene.timar
        sample = sample_audio()
        for sp, head, i in ((s.speaker_a, head_a, 0), (s.speaker_b, head_b, 1)):
            sp.head = head
            sp.preset = 'timar_demo'
            if sample and not sp.audio:
                sp.audio = sample[i]
        self.report({'INFO'}, f"added {head_a.name} and {head_b.name} (rig preset: TIMAR demo head)")
        return {'FINISHED'}


class TIMAR_OT_add_audio_to_sequencer(bpy.types.Operator):
    """Add both speakers' audio to the sequencer at the start frame, for playback in sync"""
    bl_idname = "timar.add_audio_to_sequencer"
    bl_label = "Add Audio to Sequencer"
    bl_options = {'REGISTER', 'UNDO'}

    @guarded
    def execute(self, context):
        s = context.scene.timar
        try:
            strips = scene_setup.add_audio_to_sequencer(
                context.scene, s.speaker_a.audio, s.speaker_b.audio, s.start_frame)
        except SceneSetupError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self.report({'INFO'}, f"added {len(strips)} sound strips")
        return {'FINISHED'}


classes = (TIMAR_OT_add_demo_heads, TIMAR_OT_add_audio_to_sequencer)

register, unregister = bpy.utils.register_classes_factory(classes)
