# SPDX-License-Identifier: GPL-3.0-or-later
"""Which model Generate runs, and the set-up checklist of the official TIMAR weights.

Precedence: a **Checkpoint** set in the scene's Options panel wins (it is saved with the
.blend, so a project can pin its model); otherwise the model chosen in the preferences:
the bundled model, the official TIMAR weights (``TIMAR.pth`` plus the wav2vec2 folder), or
a custom checkpoint. The preferences' wav2vec2 folder is also handed to a scene or custom
checkpoint, since either may be an official-layout file. Nothing here imports torch: the
checklist (model_core.speech.speech_model) only looks at files and packages, so it runs on every
draw of the preferences."""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

import bpy

from . import core, generation
from .errors import GenerationError

BUNDLED, OFFICIAL, CUSTOM, SCENE = 'BUNDLED', 'OFFICIAL', 'CUSTOM', 'SCENE'
MODEL_ITEMS = [
    (BUNDLED, "Bundled model", "The small TIMAR model shipped with the add-on"),
    (OFFICIAL, "Official TIMAR weights", "The authors' released TIMAR.pth with its wav2vec2 "
               "speech model (needs the 'transformers' package; best on a CUDA GPU)"),
    (CUSTOM, "Custom checkpoint", "A checkpoint trained with this project's model_core"),
]
OFFICIAL_NOTE = ("The official model (428 M parameters plus wav2vec2-large) wants a CUDA GPU: "
                 "on a CPU it runs 10-20x slower than real time.")


@dataclass(frozen=True)
class ModelChoice:
    kind: str                       # BUNDLED, OFFICIAL, CUSTOM or SCENE
    checkpoint: str | None          # None: the bundled model
    speech_model_dir: str | None    # for official-layout weights


def _path(value: str) -> str | None:
    return bpy.path.abspath(value) if value else None


def resolve(prefs, scene_checkpoint: str = "") -> ModelChoice:
    """The model to load (see the module docstring); raises GenerationError when the
    chosen model has no file set. ``prefs`` may be None (the add-on not enabled as such)."""
    speech = _path(prefs.speech_model_dir) if prefs is not None else None
    if scene_checkpoint:
        return ModelChoice(SCENE, _path(scene_checkpoint), speech)
    kind = prefs.model_source if prefs is not None else BUNDLED
    if kind == OFFICIAL:
        problems = official_problems(prefs)
        if problems:
            raise GenerationError(
                "the official TIMAR weights are not set up (Preferences > Add-ons > TIMAR "
                "for Blender): " + "; ".join(problems))
        return ModelChoice(OFFICIAL, _path(prefs.official_checkpoint), speech)
    if kind == CUSTOM:
        if not prefs.custom_checkpoint:
            raise GenerationError(
                "the model is set to Custom checkpoint but no file is chosen: pick one in "
                "Preferences > Add-ons > TIMAR for Blender")
        return ModelChoice(CUSTOM, _path(prefs.custom_checkpoint), speech)
    return ModelChoice(BUNDLED, None, None)


def describe(prefs, scene_checkpoint: str = "") -> str:
    """One line for the panel: which model Generate will use (no checks, no file access)."""
    if scene_checkpoint:
        return "Model: this scene's checkpoint"
    kind = prefs.model_source if prefs is not None else BUNDLED
    names = {key: name for key, name, _ in MODEL_ITEMS}
    return f"Model: {names[kind]} (Preferences)"


def official_problems(prefs) -> list[str]:
    """What keeps the official weights from loading with the preferences' paths, one line
    per problem (empty: ready): PyTorch, then ``speech_model.setup_problems`` (files and the
    transformers package, found without importing anything)."""
    problems = []
    if not generation.torch_available():
        problems.append("PyTorch is not installed (Install PyTorch, in these preferences)")
    return problems + core.speech_model.setup_problems(_path(prefs.official_checkpoint),
                                                       _path(prefs.speech_model_dir))


def draw(layout, prefs) -> None:
    """The Model box of the preferences."""
    box = layout.box()
    box.label(text="Model", icon='OUTLINER_DATA_ARMATURE')
    box.row().prop(prefs, "model_source", expand=True)
    if prefs.model_source == CUSTOM:
        box.prop(prefs, "custom_checkpoint")
    elif prefs.model_source == OFFICIAL:
        box.prop(prefs, "official_checkpoint")
        box.prop(prefs, "speech_model_dir")
        _lines(box, OFFICIAL_NOTE, 'INFO')
        _draw_checklist(box, prefs)
    box.label(text="A Checkpoint set in a scene's Options panel overrides this choice.",
              icon='DOT')


def _draw_checklist(layout, prefs) -> None:
    problems = official_problems(prefs)
    col = layout.column(align=True)
    if not problems:
        col.label(text="TIMAR.pth found", icon='CHECKMARK')
        col.label(text=f"{core.speech_model.SPEECH_MODEL_NAME.split('/')[-1]} folder found",
                  icon='CHECKMARK')
        col.label(text="transformers importable in Blender's Python", icon='CHECKMARK')
        return
    for problem in problems:
        _lines(col, problem, 'ERROR')
    if not any("transformers" in p for p in problems):
        col.label(text="transformers importable in Blender's Python", icon='CHECKMARK')


def _lines(layout, text: str, icon: str, width: int = 96) -> None:
    """A long message as several labels (Blender labels do not wrap)."""
    for i, line in enumerate(textwrap.wrap(text, width) or [""]):
        layout.label(text=line, icon=icon if i == 0 else 'BLANK1')
