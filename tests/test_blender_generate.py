# SPDX-License-Identifier: GPL-3.0-or-later
"""The Generate operator in real Blender: synchronous path (execute), the threaded path
driven through its poll function with a cancel midway, the tiny real model, bad inputs
leaving the scene unchanged, and takes. Registers the add-on from the repository."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="timar_bl_"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

bpy = pytest.importorskip("bpy")
sf = pytest.importorskip("soundfile")

import timar_blender  # noqa: E402
from timar_blender import fcurves, generation, jobs, mapping, ops_generate, rigs  # noqa: E402
from timar_blender.testing import fake_stream_factory, synthetic_motion  # noqa: E402


def speech_like(seconds: float, seed: int) -> np.ndarray:
    """Noise bursts at syllable rate: not silent, cheap to make."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    env = (np.sin(np.arange(n) / 16000 * 2 * np.pi * 3.0 + seed) > 0).astype(np.float32)
    return (0.2 * rng.standard_normal(n) * env).astype(np.float32)


@pytest.fixture(scope="module")
def addon():
    timar_blender.register()
    yield timar_blender
    jobs.shutdown()
    timar_blender.unregister()


@pytest.fixture(scope="module")
def audio_pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("audio")
    paths = []
    for i in range(2):
        p = d / f"speaker{i + 1}.wav"
        sf.write(p, speech_like(3.0, i), 16000)
        paths.append(str(p))
    return paths


@pytest.fixture
def scene(addon, audio_pair):
    bpy.ops.wm.read_homefile(use_empty=True)
    assert bpy.ops.timar.add_demo_heads() == {'FINISHED'}
    sc = bpy.context.scene
    sc.render.fps, sc.render.fps_base = 25, 1.0
    s = sc.timar
    s.speaker_a.audio, s.speaker_b.audio = audio_pair
    s.seed = 0
    generation.stream_override = fake_stream_factory(3.0)
    yield sc
    generation.stream_override = None
    jobs.shutdown()
    bpy.ops.wm.read_homefile(use_empty=True)


def keys(action_name, path, index=0):
    return fcurves.read_keys(fcurves.action_fcurves(bpy.data.actions[action_name]), path, index)


def snapshot():
    """What a failed Generate must leave as it was."""
    objs = {}
    for o in bpy.data.objects:
        ids = [o] + ([o.data.shape_keys] if o.type == 'MESH' and o.data.shape_keys else [])
        objs[o.name] = [(i.animation_data.action.name if i.animation_data and i.animation_data.action
                         else None, len(i.animation_data.nla_tracks) if i.animation_data else 0)
                        for i in ids]
    sc = bpy.context.scene
    return sorted(a.name for a in bpy.data.actions), objs, sc.frame_end


def test_registered(addon):
    for op in ("generate", "cancel", "add_demo_heads", "add_audio_to_sequencer",
               "report_message", "install_torch", "check_torch", "show_pip_log"):
        assert hasattr(bpy.types, f"TIMAR_OT_{op}"), op
    for panel in ("timar", "timar_speaker_a", "timar_speaker_b", "timar_options", "timar_generate"):
        assert hasattr(bpy.types, f"VIEW3D_PT_{panel}"), panel


def test_generate_sync_writes_model_output(scene):
    s = scene.timar
    s.start_frame, s.intensity_exp = 5, 1.0
    assert bpy.ops.timar.generate() == {'FINISHED'}
    preset = rigs.get_preset("timar_demo")
    for label, seed in (("A", 0), ("B", 1)):
        m = mapping.prepare_motion(synthetic_motion(75, seed))
        frames, vals = keys(f"TIMAR {label} take 1 shapes", 'key_blocks["BrowUp"].value')
        assert len(frames) == 75 and frames[0] == 5
        assert np.allclose(vals, np.clip(0.4 * m[:, 4] + 0.25 * m[:, 6], 0, 1), atol=1e-6)
        q = preset.bone_quaternions(m)["neck"]
        assert np.allclose(keys(f"TIMAR {label} take 1", 'pose.bones["neck"].rotation_quaternion', 3)[1],
                           q[:, 3], atol=1e-6)
    assert scene.frame_end >= 79


def test_second_run_adds_a_take_and_keeps_the_first(scene):
    assert bpy.ops.timar.generate() == {'FINISHED'}
    first = keys("TIMAR A take 1 shapes", 'key_blocks["Smile"].value')[1].copy()
    scene.timar.seed = 4
    generation.stream_override = fake_stream_factory(2.0, seed=40)
    assert bpy.ops.timar.generate() == {'FINISHED'}
    assert np.array_equal(keys("TIMAR A take 1 shapes", 'key_blocks["Smile"].value')[1], first)
    assert len(keys("TIMAR A take 2 shapes", 'key_blocks["Smile"].value')[0]) == 50
    rig = bpy.data.objects["TIMAR A rig"]
    assert rig.animation_data.action.name == "TIMAR A take 2"
    assert [t.name for t in rig.animation_data.nla_tracks] == ["TIMAR A take 1"]


def test_several_takes_in_one_run(scene):
    scene.timar.takes = 3
    assert bpy.ops.timar.generate() == {'FINISHED'}
    rig = bpy.data.objects["TIMAR B rig"]
    assert rig.animation_data.action.name == "TIMAR B take 3"
    assert sorted(t.name for t in rig.animation_data.nla_tracks) == ["TIMAR B take 1", "TIMAR B take 2"]
    a1 = keys("TIMAR B take 1 shapes", 'key_blocks["Smile"].value')[1]
    a2 = keys("TIMAR B take 2 shapes", 'key_blocks["Smile"].value')[1]
    assert not np.allclose(a1, a2)


def test_threaded_path_fills_in_and_cancels_midway(scene):
    generation.stream_override = fake_stream_factory(8.0, delay=0.05)
    job = ops_generate.build_job(scene)
    jobs.start(job, use_timer=False)
    assert not bpy.app.timers.is_registered(jobs.poll)
    seen = []
    for _ in range(400):
        if jobs.poll() is None:
            break
        if job.progress.turns_done and (not seen or seen[-1] != job.progress.turns_done):
            seen.append(job.progress.turns_done)
            n = len(keys("TIMAR A take 1 shapes", 'key_blocks["Smile"].value')[0])
            assert n == 25 * job.progress.turns_done      # keys appear turn by turn
        if job.progress.turns_done >= 3:
            jobs.cancel()
        job.worker.thread.join(0.02)
    assert job.state == "cancelled" and not jobs.is_running()
    assert not job.worker.thread.is_alive()
    done = job.progress.turns_done
    assert 3 <= done < 8 and job.progress.turns_total == 8
    assert "turns" in job.progress.text() and job.progress.rtf > 0
    frames, vals = keys("TIMAR A take 1 shapes", 'key_blocks["Smile"].value')
    assert len(frames) == 25 * done and np.all(np.isfinite(vals))
    rig = bpy.data.objects["TIMAR A rig"]
    assert rig.animation_data.action.name == "TIMAR A take 1"   # a playable partial take


def test_shutdown_mid_run_stops_thread_and_timer(scene):
    generation.stream_override = fake_stream_factory(30.0, delay=0.05)
    job = jobs.start(ops_generate.build_job(scene))
    assert bpy.app.timers.is_registered(jobs.poll) and job.worker.thread.is_alive()
    jobs.shutdown()
    assert not bpy.app.timers.is_registered(jobs.poll)
    assert not job.worker.thread.is_alive() and not jobs.is_running()


def _bad_missing_audio(scene, tmp):
    scene.timar.speaker_b.audio = str(tmp / "missing.wav")
    return "not found"


def _bad_unreadable_audio(scene, tmp):
    p = tmp / "junk.wav"
    p.write_bytes(b"this is not audio")
    scene.timar.speaker_a.audio = str(p)
    return "cannot decode"


def _bad_head(scene, tmp):
    scene.timar.speaker_b.preset = 'flame'
    return "missing shape keys Exp1"


def _bad_no_torch(scene, tmp):
    generation.stream_override = None
    generation.torch_available = lambda: False
    return "PyTorch is not installed"


def _bad_cuda(scene, tmp):
    import torch
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    generation.stream_override = None
    scene.timar.device = 'CUDA'
    return "CUDA was requested"


def _bad_checkpoint(scene, tmp):
    p = tmp / "model.pt"
    p.write_bytes(b"\x00" * 100)
    generation.stream_override = None
    scene.timar.checkpoint = str(p)
    return "not a PyTorch checkpoint"


@pytest.mark.parametrize("make_bad", [_bad_missing_audio, _bad_unreadable_audio, _bad_head,
                                      _bad_no_torch, _bad_cuda, _bad_checkpoint],
                         ids=lambda f: f.__name__[5:])
def test_bad_inputs_report_and_leave_scene_unchanged(scene, tmp_path, make_bad, monkeypatch):
    monkeypatch.setattr(generation, "torch_available", generation.torch_available)
    expected = make_bad(scene, tmp_path)
    before = snapshot()
    with pytest.raises(ops_generate.USER_ERRORS, match=expected):
        ops_generate.build_job(scene)
    # an ERROR report reaches Python as RuntimeError carrying the message
    with pytest.raises(RuntimeError, match=expected):
        bpy.ops.timar.generate()
    assert snapshot() == before


def test_real_tiny_model_matches_direct_run(scene, tiny_checkpoint, audio_pair):
    gen_mod = pytest.importorskip("model_core.generate")
    from model_core.checkpoint import load_model
    generation.stream_override = None
    s = scene.timar
    s.checkpoint, s.device, s.context_turns, s.steps, s.seed = str(tiny_checkpoint), 'CPU', 3, 2, 7
    assert bpy.ops.timar.generate() == {'FINISHED'}
    model = load_model(str(tiny_checkpoint), device="cpu")
    opts = gen_mod.GenerationOptions(context_turns=3, steps=2, temperature=1.0, seed=7, device="cpu")
    ref = gen_mod.DialogueGenerator(model, opts).run(*audio_pair)
    preset = rigs.get_preset("timar_demo")
    for label, motion in (("A", ref.motion_a), ("B", ref.motion_b)):
        m = mapping.prepare_motion(motion)
        frames, vals = keys(f"TIMAR {label} take 1", 'pose.bones["jaw"].rotation_quaternion', 1)
        assert len(frames) == len(motion) == 75
        assert np.allclose(vals, preset.bone_quaternions(m)["jaw"][:, 1], atol=1e-5)


def test_listener_preview_from_npz(scene, tiny_checkpoint, tmp_path):
    from model_core.flame import save_motion_npz
    generation.stream_override = None
    motion_b = synthetic_motion(75, 11)
    save_motion_npz(tmp_path / "b.npz", motion_b)
    s = scene.timar
    s.checkpoint, s.device, s.context_turns, s.steps = str(tiny_checkpoint), 'CPU', 1, 2
    s.speaker_b.motion_file = str(tmp_path / "b.npz")
    assert bpy.ops.timar.generate(target='A') == {'FINISHED'}
    m = mapping.prepare_motion(motion_b)
    vals = keys("TIMAR B take 1 shapes", 'key_blocks["BrowUp"].value')[1]
    assert np.allclose(vals, np.clip(0.4 * m[:, 4] + 0.25 * m[:, 6], 0, 1), atol=1e-5)
    assert len(keys("TIMAR A take 1 shapes", 'key_blocks["Smile"].value')[0]) == 75
    s.speaker_a.motion_file = ""
    with pytest.raises(generation.GenerationError, match="FLAME motion file"):
        ops_generate.build_job(scene, 'B')
