# SPDX-License-Identifier: GPL-3.0-or-later
"""Settings stored in the .blend (Scene.timar) and the run's progress (WindowManager)."""

import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, IntProperty,
                       PointerProperty, StringProperty)

from .rig.preset import builtin_presets, load_preset_file


def _preset_items():
    items = []
    for key, path in builtin_presets().items():
        preset = load_preset_file(path)
        items.append((key, preset.name, preset.description))
    items.append(('CUSTOM', "Custom (JSON file)", "Your own mapping from model channels "
                  "(FLAME, ARKit, visemes) to shape keys and bones, in a JSON file"))
    return items


PRESET_ITEMS = _preset_items()
DEFAULT_PRESET = "timar_demo" if any(i[0] == "timar_demo" for i in PRESET_ITEMS) else PRESET_ITEMS[0][0]


def _is_head(_self, obj):
    return obj.type in {'MESH', 'ARMATURE'}


# A PointerProperty with a poll callback makes the 4.2 bpy module segfault at exit (even
# after unregistering); there the picker lists every object and Generate checks the type.
_HEAD_POLL = {"poll": _is_head} if bpy.app.version >= (4, 3, 0) else {}


class TIMAR_PG_speaker(bpy.types.PropertyGroup):
    audio: StringProperty(name="Audio", subtype='FILE_PATH',
                          description="Speech of this speaker (wav, flac, ogg, mp3)")
    head: PointerProperty(name="Head", type=bpy.types.Object, **_HEAD_POLL,
                          description="A mesh with shape keys, an armature, or a mesh "
                                      "parented to an armature")
    preset: EnumProperty(name="Rig", items=PRESET_ITEMS, default=DEFAULT_PRESET,
                         description="How the model's channels map onto this head's shape "
                                     "keys and bones")
    mapping_file: StringProperty(name="Mapping", subtype='FILE_PATH',
                                 description="JSON mapping for the Custom rig preset")
    motion_file: StringProperty(name="FLAME motion", subtype='FILE_PATH',
                                description="A FLAME .npz (exp, pose) or a Live Link Face .csv "
                                            "take used as this speaker's motion when only "
                                            "the other head is generated")
    # this head's strengths, times the scene's Intensity (1 = the model as it is, 0 = off)
    dial_jaw: FloatProperty(name="Jaw", default=1.0, min=0.0, soft_max=2.0, max=5.0,
                            description="Jaw opening (FLAME jaw, ARKit jaw*)")
    dial_lips: FloatProperty(name="Lips", default=1.0, min=0.0, soft_max=2.0, max=5.0,
                             description="Lips, cheeks and tongue (ARKit mouth*, visemes)")
    dial_expression: FloatProperty(name="Expression", default=1.0, min=0.0, soft_max=2.0,
                                   max=5.0, description="Brows, nose, squints and FLAME's "
                                                        "expression space")
    dial_head: FloatProperty(name="Head motion", default=1.0, min=0.0, soft_max=2.0, max=5.0,
                             description="Neck and head rotation")
    dial_eyes: FloatProperty(name="Eyes", default=1.0, min=0.0, soft_max=2.0, max=5.0,
                             description="Gaze movement (look-aways, saccades) and the "
                                         "model's eye channels; blinks stay")


class TIMAR_PG_settings(bpy.types.PropertyGroup):
    speaker_a: PointerProperty(type=TIMAR_PG_speaker)
    speaker_b: PointerProperty(type=TIMAR_PG_speaker)
    start_frame: IntProperty(name="Start frame", default=1,
                             description="Frame of the first key (the start of the audio)")
    context_turns: IntProperty(name="Context turns", default=7, min=0, max=7,
                               description="Previous 1 s turns the model looks back on")
    steps: IntProperty(name="Diffusion steps", default=5, min=1, max=50)
    temperature: FloatProperty(name="Temperature", default=1.0, min=0.0, max=2.0,
                               description="Sampling temperature: lower is calmer")
    seed: IntProperty(name="Seed", default=0, min=0)
    takes: IntProperty(name="Takes", default=1, min=1, max=10,
                       description="Takes to generate (seed, seed+1, ...), each in new actions")
    intensity_exp: FloatProperty(name="Expression", default=1.0, min=0.0, soft_max=2.0, max=5.0)
    intensity_jaw: FloatProperty(name="Jaw", default=1.0, min=0.0, soft_max=2.0, max=5.0)
    intensity_head: FloatProperty(name="Head rotation", default=1.0, min=0.0, soft_max=2.0, max=5.0)
    smoothing: FloatProperty(name="Smoothing", default=0.0, min=0.0, max=5.0,
                             description="Gaussian smoothing in model frames (1/25 s); 0 = off")
    blinks: BoolProperty(name="Blinks and saccades", default=True,
                         description="Add procedural blinks (and eye saccades where the rig "
                                     "has eye bones): FLAME's expressions have no eyelids")
    device: EnumProperty(name="Device", default='AUTO', items=[
        ('AUTO', "Auto", "CUDA when available, else the CPU"),
        ('CPU', "CPU", "Always the CPU"),
        ('CUDA', "CUDA", "An NVIDIA GPU (fails when none is available)")])
    motion_coherence: FloatProperty(
        name="Motion coherence", default=0.0, min=0.0, soft_max=25.0, max=250.0,
        description="How long the model's sampling noise stays correlated, in model frames "
                    "(1/25 s): higher values drift smoothly instead of jittering frame to "
                    "frame; 0 = independent per-frame sampling, as in the paper")
    checkpoint: StringProperty(name="Checkpoint", subtype='FILE_PATH',
                               description="A TIMAR checkpoint for this scene, overriding the "
                                           "model chosen in the preferences; empty = the "
                                           "preferences' choice")


class TIMAR_PG_progress(bpy.types.PropertyGroup):
    running: BoolProperty(default=False)
    factor: FloatProperty(default=0.0, min=0.0, max=1.0, subtype='FACTOR')
    text: StringProperty(default="")


classes = (TIMAR_PG_speaker, TIMAR_PG_settings, TIMAR_PG_progress)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.Scene.timar = PointerProperty(type=TIMAR_PG_settings)
    bpy.types.WindowManager.timar_progress = PointerProperty(type=TIMAR_PG_progress)


def unregister():
    del bpy.types.WindowManager.timar_progress
    del bpy.types.Scene.timar
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
