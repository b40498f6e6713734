# SPDX-License-Identifier: GPL-3.0-or-later
"""The official TIMAR weights chosen in the add-on preferences, in real Blender: a small
file in the release's layout (model_core.official_testing) and a tiny randomly initialised
wav2vec2 folder (needs ``transformers``; skipped where it is missing, as on the 4.2 venv).
The missing-folder error is in test_blender_generate.py's bad-input cases."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

if "bpy" not in sys.modules:  # isolate prefs and extensions from the user's own
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="timar_bl_")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

bpy = pytest.importorskip("bpy")

from timar_blender import jobs, model_choice, ops_generate, prefs  # noqa: E402
from timar_blender.rig import channels as rig_channels, fcurves, motion as flame_motion, preset as rig_preset, targets as rig_targets  # noqa: E402

from blender_setup import addon, demo_scene  # noqa: E402,F401


@pytest.fixture(scope="module")
def official_files(tmp_path_factory):
    pytest.importorskip("transformers", reason="the official weights' wav2vec2 front end needs "
                        "the 'transformers' package, which this Python does not have")
    from model_core.official_testing import (TINY, random_release_state, release_args,
                                             write_release, write_speech_model)
    folder = tmp_path_factory.mktemp("official")
    release = write_release(folder / "TIMAR.pth", random_release_state(seed=1, **TINY),
                            args=release_args(model="tiny"))
    speech = write_speech_model(folder / "wav2vec2-large-960h-lv60-self", "tiny", seed=2)
    return release, speech


@pytest.fixture
def scene(addon, official_files, audio_pair):
    """Demo heads, 3 s of speech-like audio, the preferences set to the official weights."""
    sc = demo_scene(audio_pair, "", context_turns=3, seed=5)
    p = prefs.get_prefs()
    p.model_source = 'OFFICIAL'
    p.official_checkpoint, p.speech_model_dir = official_files
    yield sc
    jobs.shutdown()
    for name in ("model_source", "official_checkpoint", "speech_model_dir"):
        p.property_unset(name)
    bpy.ops.wm.read_homefile(use_empty=True)


def test_checklist_is_clear_when_set_up(scene):
    p = prefs.get_prefs()
    assert model_choice.official_problems(p) == []
    choice = model_choice.resolve(p, "")
    assert (choice.kind, choice.speech_model_dir) == ('OFFICIAL', p.speech_model_dir)
    from types import SimpleNamespace
    from unittest import mock
    layout = mock.MagicMock()
    values = {name: getattr(p, name) for name in p.bl_rna.properties.keys() if name != "rna_type"}
    prefs.TIMAR_AddonPreferences.draw(SimpleNamespace(layout=layout, **values), bpy.context)
    checks = [c[2]["text"] for c in layout.mock_calls
              if c[0].endswith("label") and c[2].get("icon") == 'CHECKMARK']
    assert {"TIMAR.pth found", "wav2vec2-large-960h-lv60-self folder found",
            "transformers importable in Blender's Python"} <= set(checks)


def test_official_weights_generate_on_demo_heads(scene, official_files):
    """Generate with the preferences' official weights; the keys equal a direct run of the
    release through model_core with the same speech folder and options."""
    from model_core.checkpoint import load_model
    from model_core.generate import DialogueGenerator, GenerationOptions

    job = ops_generate.build_job(scene)
    assert job.request.speech_model_dir == official_files[1]
    assert job.request.model.config.speech_frontend == "wav2vec2"
    assert any("10-20x slower than real time" in w for w in job.warnings)   # CPU here
    assert bpy.ops.timar.generate() == {'FINISHED'}

    model = load_model(official_files[0], "cpu", official_files[1])
    opts = GenerationOptions(context_turns=3, steps=2, temperature=1.0, seed=5, device="cpu",
                             mask_agent_history=True)
    s = scene.timar
    ref = DialogueGenerator(model, opts).run(s.speaker_a.audio, s.speaker_b.audio)
    preset = rig_preset.get_preset("timar_demo")
    for label, motion, face in (("A", ref.motion_a, ref.face_a), ("B", ref.motion_b, ref.face_b)):
        c = rig_channels.combine(flame_motion.prepare_motion(motion), face)
        fcs = fcurves.action_fcurves(bpy.data.actions[f"TIMAR {label} take 1 shapes"])
        frames, vals = fcurves.read_keys(fcs, 'key_blocks["jawOpen"].value')
        assert len(frames) == len(motion) == 75
        want = np.clip(c[:, rig_channels.channel_index("jawOpen")], 0, 1)
        assert np.allclose(vals, want, atol=1e-5)
        assert np.allclose(vals, rig_targets.shape_values(preset, c)["jawOpen"], atol=1e-5)
        fcs = fcurves.action_fcurves(bpy.data.actions[f"TIMAR {label} take 1"])
        _, qx = fcurves.read_keys(fcs, 'pose.bones["neck"].rotation_quaternion', 1)
        assert np.allclose(qx, rig_targets.bone_quaternions(preset, c)["neck"][:, 1], atol=1e-5)
        assert fcurves.read_keys(fcs, 'pose.bones["jaw"].rotation_quaternion', 1) is None
