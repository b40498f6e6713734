# SPDX-License-Identifier: GPL-3.0-or-later
"""Generate, Cancel and the internal report operator.

Generate checks everything (audio, heads against their presets, torch, device, model)
before touching the scene. The model is the preferences' choice unless the scene sets a
checkpoint (model_choice.py). ``invoke`` (interactive) runs the model in a worker thread and
writes turns from a timer; ``execute`` (scripts, ``blender -b``) runs synchronously."""

import bpy
from bpy.props import EnumProperty, StringProperty

from . import core, generation, jobs, model_choice, prefs
from .errors import GenerationError
from .rig.dials import Dials
from .rig.head import resolve_head
from .rig.preset import get_preset
from .rig.take import TakeSettings
from .operator_guard import guarded


def _audio(sp, label: str):
    if not sp.audio:
        raise GenerationError(f"speaker {label}: choose an audio file")
    return core.load_audio(bpy.path.abspath(sp.audio))


def _dials(sp, s) -> Dials:
    """A speaker's strengths times the scene's intensities (both heads)."""
    return Dials(jaw=sp.dial_jaw * s.intensity_jaw, lips=sp.dial_lips,
                 expression=sp.dial_expression * s.intensity_exp,
                 head=sp.dial_head * s.intensity_head, eyes=sp.dial_eyes)


def _target(sp, label: str, s) -> jobs.HeadTarget:
    preset = get_preset(sp.preset, bpy.path.abspath(sp.mapping_file))
    resolve_head(sp.head, preset)   # raises RigError listing what is missing
    return jobs.HeadTarget(label, sp.head.name, preset, _dials(sp, s))


def build_job(scene, target: str = 'BOTH') -> jobs.Job:
    """A ready-to-run job from the scene's settings; raises a user error, changes nothing.

    target 'BOTH' generates both heads; 'A' generates A while B's motion comes from B's
    FLAME file (and is written on head B when one is set); 'B' the other way round."""
    s = scene.timar
    sp = {"A": s.speaker_a, "B": s.speaker_b}
    heads, given = [], {"A": None, "B": None}
    if sp["A"].head is not None and sp["A"].head == sp["B"].head:
        raise GenerationError(f"speakers A and B both use the head '{sp['A'].head.name}': "
                              "choose a different head object for each (one head cannot play "
                              "both sides; the second take would replace the first)")
    for label in "AB":
        generated = target in ('BOTH', label)
        if generated and sp[label].head is None:
            raise GenerationError(f"speaker {label}: choose a head object")
        if not generated:
            if not sp[label].motion_file:
                raise GenerationError(
                    f"speaker {label}: choose a FLAME motion file (.npz) or a Live Link "
                    f"Face take (.csv) to preview "
                    f"speaker {'A' if label == 'B' else 'B'} against")
            given[label] = core.load_motion(bpy.path.abspath(sp[label].motion_file))
        if sp[label].head is not None:
            heads.append(_target(sp[label], label, s))
    audio_a, audio_b = _audio(sp["A"], "A"), _audio(sp["B"], "B")
    choice = model_choice.resolve(prefs.get_prefs(), s.checkpoint)
    request = generation.Request(
        audio_a, audio_b, given["A"], given["B"], checkpoint=choice.checkpoint,
        device=s.device.lower(), context_turns=s.context_turns, steps=s.steps,
        temperature=s.temperature, seed=s.seed, takes=s.takes,
        speech_model_dir=choice.speech_model_dir, noise_time_constant=s.motion_coherence)
    generation.prepare(request)
    settings = TakeSettings(s.intensity_exp, s.intensity_jaw, s.intensity_head, s.smoothing,
                            s.blinks, s.seed)
    job = jobs.Job(scene.name, request, heads, s.start_frame, settings)
    for label in "AB":
        warning = core.truncation_warning(bpy.path.abspath(sp[label].audio), f"speaker {label}'s audio")
        if warning:
            job.warnings.append(warning)
    if choice.kind == model_choice.OFFICIAL and _on_cpu(request.model):
        job.warnings.append("the official TIMAR weights run on the CPU here: expect 10-20x "
                            "slower than real time (a CUDA GPU is much faster)")
    return job


def _on_cpu(model) -> bool:
    param = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
    return param is not None and param.device.type == "cpu"


class TIMAR_OT_generate(bpy.types.Operator):
    """Generate both heads' motion from the two audio tracks"""
    bl_idname = "timar.generate"
    bl_label = "Generate"
    bl_options = {'REGISTER', 'UNDO'}

    target: EnumProperty(name="Generate", default='BOTH', items=[
        ('BOTH', "Both heads", "Generate both heads from the two audio tracks"),
        ('A', "Head A only", "Generate A; B's motion comes from B's FLAME file"),
        ('B', "Head B only", "Generate B; A's motion comes from A's FLAME file")])

    @classmethod
    def description(cls, _context, props):
        return {'BOTH': "Generate both heads from the two audio tracks",
                'A': "Generate head A while B's motion comes from its motion file "
                     "(FLAME .npz or Live Link Face .csv)",
                'B': "Generate head B while A's motion comes from its motion file "
                     "(FLAME .npz or Live Link Face .csv)"}[props.target]

    @classmethod
    def poll(cls, _context):
        return not jobs.is_running()

    def _build(self, context):
        try:
            return build_job(context.scene, self.target)
        except core.TimarError as exc:      # the add-on's UserError or the core's
            self.report({'ERROR'}, str(exc))
            return None

    @guarded
    def execute(self, context):
        job = self._build(context)
        if job is None:
            return {'CANCELLED'}
        jobs.run_sync(job)
        for w in job.warnings:
            self.report({'WARNING'}, w)
        if job.state == "error":
            self.report({'ERROR'}, job.error)
            return {'FINISHED'} if job.writers else {'CANCELLED'}
        for line in job.head_summaries():
            self.report({'INFO'}, line)
        self.report({'INFO'}, job.summary())
        return {'FINISHED'}

    @guarded
    def invoke(self, context, _event):
        if bpy.app.background:
            return self.execute(context)
        job = self._build(context)
        if job is None:
            return {'CANCELLED'}
        try:
            jobs.start(job)
        except GenerationError as exc:
            self.report({'ERROR'}, str(exc))
            return {'CANCELLED'}
        self.report({'INFO'}, "TIMAR: generating; the heads fill in turn by turn")
        return {'FINISHED'}


class TIMAR_OT_cancel(bpy.types.Operator):
    """Stop after the current turn; the turns already written stay as a playable take"""
    bl_idname = "timar.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, _context):
        return jobs.is_running()

    @guarded
    def execute(self, _context):
        jobs.cancel()
        return {'FINISHED'}


class TIMAR_OT_report_message(bpy.types.Operator):
    """Show a message in the status bar and the Info editor"""
    bl_idname = "timar.report_message"
    bl_label = "TIMAR Message"
    bl_options = {'INTERNAL'}

    kind: StringProperty(default='INFO')
    message: StringProperty()

    @guarded
    def execute(self, _context):
        self.report({self.kind if self.kind in {'INFO', 'WARNING', 'ERROR'} else 'INFO'},
                    self.message)
        return {'FINISHED'}


classes = (TIMAR_OT_generate, TIMAR_OT_cancel, TIMAR_OT_report_message)

register, unregister = bpy.utils.register_classes_factory(classes)
