"""The add-on under bad input, in real Blender with the real tiny model: a generation that
fails at its first turn leaves no new action and gives back the active ones; a truncated
WAV is reported; unregistering twice (Blender after the exit hook) is harmless."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

if "bpy" not in sys.modules:  # isolate prefs and extensions from the user's own
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="timar_bl_")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pytest  # noqa: E402
import torch  # noqa: E402

bpy = pytest.importorskip("bpy")

from timar_blender import jobs, ops_generate  # noqa: E402

from blender_setup import addon, demo_scene  # noqa: E402,F401
from helpers import write_speech_pair  # noqa: E402


@pytest.fixture
def scene(addon, audio_pair, tiny_checkpoint):
    yield demo_scene(audio_pair, str(tiny_checkpoint), context_turns=2, seed=0)
    jobs.shutdown()
    bpy.ops.wm.read_homefile(use_empty=True)


def animation_state():
    """Every action, and per ID the active action and its NLA tracks."""
    ids = {}
    for o in bpy.data.objects:
        for i in [o] + ([o.data.shape_keys] if o.type == 'MESH' and o.data.shape_keys else []):
            ad = i.animation_data
            ids[i.name] = (ad.action.name if ad and ad.action else None,
                           [(t.name, t.mute) for t in ad.nla_tracks] if ad else [])
    return sorted(a.name for a in bpy.data.actions), ids


@pytest.fixture
def overflow_checkpoint(tiny_checkpoint, tmp_path):
    """Finite weights so large that the model's motion overflows to infinity."""
    payload = torch.load(tiny_checkpoint, weights_only=True)
    key = next(k for k in payload["state_dict"] if k.startswith("diffloss") and k.endswith("weight"))
    payload["state_dict"][key] = torch.full_like(payload["state_dict"][key].float(), 3e38)
    path = tmp_path / "overflow.pt"
    torch.save(payload, path)
    return str(path)


def test_failed_generation_leaves_no_new_action_and_restores_the_active_ones(
        scene, overflow_checkpoint):
    assert bpy.ops.timar.generate() == {'FINISHED'}          # take 1, a good one
    before = animation_state()
    assert any(name.endswith("take 1") for name in before[0])
    assert any(active and active.endswith("take 1") for active, _ in before[1].values())
    scene.timar.checkpoint = overflow_checkpoint
    with pytest.raises(RuntimeError, match="NaN or infinite motion at turn 1"):
        bpy.ops.timar.generate()                  # reports the error, cancels
    assert animation_state() == before            # no "take 2", take 1 active again
    assert jobs.current() is None


def test_failed_first_generation_leaves_the_heads_unanimated(scene, overflow_checkpoint):
    before = animation_state()
    scene.timar.checkpoint = overflow_checkpoint
    with pytest.raises(RuntimeError, match="NaN or infinite motion"):
        bpy.ops.timar.generate()
    assert animation_state() == before and before[0] == []


def test_truncated_wav_is_reported_and_still_generated(scene, tmp_path, capsys):
    a, b = write_speech_pair(tmp_path, 3.0)
    data = Path(a).read_bytes()
    Path(a).write_bytes(data[:len(data) - 16000])            # 0.5 s missing at the end
    scene.timar.speaker_a.audio = a
    job = jobs.run_sync(ops_generate.build_job(scene))
    assert job.state == "done"
    assert any("ends early" in w and "speaker A" in w for w in job.warnings)


def test_unregister_twice_is_harmless(addon):
    import timar_blender

    timar_blender.unregister()
    timar_blender.unregister()                # as Blender does after the exit hook did
    assert not hasattr(bpy.types, "TIMAR_OT_generate")
    timar_blender.register()                  # the module fixture unregisters at the end
    assert hasattr(bpy.ops.timar, "generate")


def test_discarding_a_take_gives_back_the_previous_actions(scene):
    """The undo behind a failed take: a take's actions are made (pushing the active ones
    down to NLA tracks), then discarded: everything is as it was."""
    from timar_blender.rig import preset as rig_preset, take as rig_take
    from timar_blender.rig.head import resolve_head
    from timar_blender.testing import synthetic_motion

    head_a = bpy.data.objects[scene.timar.speaker_a.head.name]
    preset = rig_preset.get_preset("timar_demo")
    rig_take.write_take(head_a, synthetic_motion(50), preset, scene=scene)
    before = animation_state()
    writer = rig_take.TakeWriter(scene, resolve_head(head_a, preset), preset, 1)
    during = animation_state()
    assert len(during[0]) == len(before[0]) + len(writer.action_names) > len(before[0])
    assert during[1] != before[1]                 # new take active, old one pushed down
    writer.discard()
    assert animation_state() == before
