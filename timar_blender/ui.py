# SPDX-License-Identifier: GPL-3.0-or-later
"""The sidebar panel (3D Viewport > N > TIMAR): speakers, options, generate, progress."""
from __future__ import annotations

import bpy

import textwrap

from . import generation, jobs, model_choice, prefs, rig_preview


class _TimarPanel:
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "TIMAR"


class VIEW3D_PT_timar(_TimarPanel, bpy.types.Panel):
    bl_label = "TIMAR Conversation"

    def draw(self, context):
        layout = self.layout
        if not generation.torch_available():
            layout.label(text="PyTorch missing: see Preferences", icon='ERROR')
        row = layout.row(align=True)
        row.operator("timar.add_demo_heads", icon='MONKEY')
        row.operator("timar.add_audio_to_sequencer", text="Audio to Sequencer", icon='SOUND')


def _draw_speaker(layout, sp):
    layout.prop(sp, "audio")
    layout.prop(sp, "head")
    layout.prop(sp, "preset")
    if sp.preset == 'CUSTOM':
        layout.prop(sp, "mapping_file")
    state, lines, warnings = rig_preview.preview(sp)
    if state != "none":
        box = layout.box().column(align=True)
        for i, line in enumerate(lines):
            for j, part in enumerate(textwrap.wrap(line, 60) or [""]):
                icon = ('ERROR' if state == "error" else 'CHECKMARK') if i == j == 0 else 'BLANK1'
                box.label(text=part, icon=icon)
        for w in warnings:
            box.label(text=w.split(": ", 1)[-1][:90], icon='ERROR')
    layout.prop(sp, "motion_file")
    col = layout.column(align=True)
    col.label(text="Strength")
    for name in ("dial_jaw", "dial_lips", "dial_expression", "dial_head", "dial_eyes"):
        col.prop(sp, name)


class VIEW3D_PT_timar_speaker_a(_TimarPanel, bpy.types.Panel):
    bl_label = "Speaker A"
    bl_parent_id = "VIEW3D_PT_timar"

    def draw(self, context):
        _draw_speaker(self.layout, context.scene.timar.speaker_a)


class VIEW3D_PT_timar_speaker_b(_TimarPanel, bpy.types.Panel):
    bl_label = "Speaker B"
    bl_parent_id = "VIEW3D_PT_timar"

    def draw(self, context):
        _draw_speaker(self.layout, context.scene.timar.speaker_b)


class VIEW3D_PT_timar_options(_TimarPanel, bpy.types.Panel):
    bl_label = "Options"
    bl_parent_id = "VIEW3D_PT_timar"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        s = context.scene.timar
        col = self.layout.column(align=True)
        for name in ("start_frame", "context_turns", "steps", "temperature", "seed", "takes"):
            col.prop(s, name)
        col = self.layout.column(align=True)
        col.label(text="Intensity (both heads)")
        for name in ("intensity_exp", "intensity_jaw", "intensity_head"):
            col.prop(s, name)
        col = self.layout.column(align=True)
        col.prop(s, "motion_coherence")
        col.prop(s, "smoothing")
        col.prop(s, "blinks")
        col = self.layout.column(align=True)
        col.prop(s, "device")
        col.prop(s, "checkpoint")
        col.label(text=model_choice.describe(prefs.get_prefs(context), s.checkpoint))


class VIEW3D_PT_timar_generate(_TimarPanel, bpy.types.Panel):
    bl_label = "Generate"
    bl_parent_id = "VIEW3D_PT_timar"
    bl_options = {'HIDE_HEADER'}

    def draw(self, context):
        layout = self.layout
        progress = context.window_manager.timar_progress
        if jobs.is_running():
            row = layout.row(align=True)
            row.progress(factor=progress.factor, text=progress.text or "starting", type='BAR')
            row.operator("timar.cancel", text="", icon='CANCEL')
            return
        col = layout.column(align=True)
        col.scale_y = 1.4
        col.operator("timar.generate", text="Generate", icon='PLAY').target = 'BOTH'
        row = layout.row(align=True)
        row.operator("timar.generate", text="A (B from npz)").target = 'A'
        row.operator("timar.generate", text="B (A from npz)").target = 'B'
        if progress.text:      # how the last run ended (jobs.Job.outcome)
            icon = {"Failed": 'ERROR', "Cancelled": 'CANCEL'}.get(progress.text.split(":")[0],
                                                                 'INFO')
            layout.label(text=progress.text, icon=icon)


classes = (VIEW3D_PT_timar, VIEW3D_PT_timar_speaker_a, VIEW3D_PT_timar_speaker_b,
           VIEW3D_PT_timar_options, VIEW3D_PT_timar_generate)

register, unregister = bpy.utils.register_classes_factory(classes)
