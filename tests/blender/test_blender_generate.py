# SPDX-License-Identifier: GPL-3.0-or-later
"""The Generate operator in real Blender with the real tiny model (a checkpoint made by
model_core.testing): synchronous path (execute), the threaded path driven through its poll
function with a cancel midway on long audio, bad inputs leaving the scene unchanged, takes,
motion coherence, the model choice. Registers the add-on from the repository."""
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

from timar_blender import generation, jobs, model_choice, ops_generate, prefs  # noqa: E402
from timar_blender.core import TimarError  # noqa: E402
from timar_blender.errors import GenerationError  # noqa: E402
from timar_blender.rig import fcurves, motion as flame_motion, preset as rig_preset  # noqa: E402
from timar_blender.rig import channels as rig_channels, targets as rig_targets  # noqa: E402
from timar_blender.testing import synthetic_motion  # noqa: E402

from blender_setup import addon, demo_scene  # noqa: E402,F401


def reset_prefs():
    p = prefs.get_prefs()
    for name in ("model_source", "official_checkpoint", "speech_model_dir", "custom_checkpoint"):
        p.property_unset(name)


@pytest.fixture
def scene(addon, audio_pair, tiny_checkpoint):
    """Demo heads, 3 s of audio, the real tiny model on the CPU (2 context turns, 2 steps)."""
    yield demo_scene(audio_pair, str(tiny_checkpoint), context_turns=2, seed=0)
    jobs.shutdown()
    reset_prefs()
    bpy.ops.wm.read_homefile(use_empty=True)


def direct_run(checkpoint, audio, seed=0, context_turns=2, steps=2, **options):
    """The same generation straight through model_core (no Blender)."""
    from model_core.checkpoint import load_model
    from model_core.generate import DialogueGenerator, GenerationOptions
    opts = GenerationOptions(context_turns=context_turns, steps=steps, temperature=1.0,
                             seed=seed, device="cpu", **options)
    return DialogueGenerator(load_model(str(checkpoint), device="cpu"), opts).run(*audio)


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
    p = prefs.get_prefs()
    assert p.model_source == 'BUNDLED'
    assert {i.identifier for i in p.bl_rna.properties["model_source"].enum_items} == {
        'BUNDLED', 'OFFICIAL', 'CUSTOM'}
    for name, subtype in (("official_checkpoint", 'FILE_PATH'), ("speech_model_dir", 'DIR_PATH'),
                          ("custom_checkpoint", 'FILE_PATH')):
        assert p.bl_rna.properties[name].subtype == subtype and getattr(p, name) == ""
    coherence = bpy.types.Scene.bl_rna.properties["timar"].fixed_type.properties["motion_coherence"]
    assert coherence.default == 0.0 and coherence.hard_min == 0.0


def test_generate_sync_writes_model_output(scene, audio_pair, tiny_checkpoint):
    s = scene.timar
    s.start_frame, s.intensity_exp, s.seed = 5, 1.0, 7
    assert bpy.ops.timar.generate() == {'FINISHED'}
    ref = direct_run(tiny_checkpoint, audio_pair, seed=7)
    preset = rig_preset.get_preset("timar_demo")
    for label, motion in (("A", ref.motion_a), ("B", ref.motion_b)):
        m = flame_motion.prepare_motion(motion)
        frames, vals = keys(f"TIMAR {label} take 1 shapes", 'key_blocks["BrowUp"].value')
        assert len(frames) == len(motion) == 75 and frames[0] == 5
        assert np.allclose(vals, np.clip(0.4 * m[:, 4] + 0.25 * m[:, 6], 0, 1), atol=1e-5)
        quats = rig_targets.bone_quaternions(preset, m)
        got = keys(f"TIMAR {label} take 1", 'pose.bones["neck"].rotation_quaternion', 3)
        assert np.allclose(got[1], quats["neck"][:, 3], atol=1e-5)
        # the mouth: the face frame's jawOpen on the jawOpen key; no jaw bone (it would open twice)
        assert keys(f"TIMAR {label} take 1", 'pose.bones["jaw"].rotation_quaternion', 1) is None
        c = rig_channels.combine(m, getattr(ref, f"face_{label.lower()}"))
        got = keys(f"TIMAR {label} take 1 shapes", 'key_blocks["jawOpen"].value')[1]
        assert np.allclose(got, c[:, rig_channels.channel_index("jawOpen")], atol=1e-5)
    assert scene.frame_end >= 79


def test_motion_coherence_reaches_the_sampler(scene, audio_pair, tiny_checkpoint):
    """The Options' Motion coherence is GenerationOptions.noise_time_constant (frames)."""
    scene.timar.motion_coherence = 6.0
    job = ops_generate.build_job(scene)
    assert job.request.noise_time_constant == 6.0
    assert bpy.ops.timar.generate() == {'FINISHED'}
    ref = direct_run(tiny_checkpoint, audio_pair, noise_time_constant=6.0,
                     mask_agent_history=True)
    plain = direct_run(tiny_checkpoint, audio_pair)
    assert not np.allclose(ref.motion_a, plain.motion_a)
    c = rig_channels.combine(flame_motion.prepare_motion(ref.motion_a), ref.face_a)
    jaw = rig_targets.shape_values(rig_preset.get_preset("timar_demo"), c)["jawOpen"]
    assert np.allclose(keys("TIMAR A take 1 shapes", 'key_blocks["jawOpen"].value')[1],
                       jaw, atol=1e-5)


def test_second_run_adds_a_take_and_keeps_the_first(scene):
    assert bpy.ops.timar.generate() == {'FINISHED'}
    first = keys("TIMAR A take 1 shapes", 'key_blocks["Smile"].value')[1].copy()
    scene.timar.seed = 4
    assert bpy.ops.timar.generate() == {'FINISHED'}
    assert np.array_equal(keys("TIMAR A take 1 shapes", 'key_blocks["Smile"].value')[1], first)
    second = keys("TIMAR A take 2 shapes", 'key_blocks["Smile"].value')[1]
    assert len(second) == 75 and not np.allclose(second, first)
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
    assert len(a1) == len(a2) == 75 and not np.allclose(a1, a2)


def test_threaded_path_fills_in_and_cancels_midway(scene, long_audio_pair):
    """The real model in the worker on 150 s of audio; cancel once a few turns are in."""
    scene.timar.speaker_a.audio, scene.timar.speaker_b.audio = long_audio_pair
    job = ops_generate.build_job(scene)
    jobs.start(job, use_timer=False)
    assert not bpy.app.timers.is_registered(jobs.poll)
    seen = []
    for _ in range(20000):
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
    # The worker's last message can be taken while its thread is still unwinding (seen on
    # a loaded machine): it must end soon after, not at this very instant.
    job.worker.thread.join(30)
    assert not job.worker.thread.is_alive()
    done, total = job.progress.turns_done, job.progress.turns_total
    assert total == 150 and 3 <= done < total
    assert "turns" in job.progress.text() and job.progress.rtf > 0
    # a valid partial take: whole turns, finite, active on both heads, playable
    for label in "AB":
        for action in (f"TIMAR {label} take 1", f"TIMAR {label} take 1 shapes"):
            fcs = fcurves.action_fcurves(bpy.data.actions[action])
            for fc in fcs:
                frames, vals = fcurves.read_keys(fcs, fc.data_path, fc.array_index)
                assert len(frames) == 25 * done and np.all(np.isfinite(vals)), fc.data_path
                assert frames[0] == scene.timar.start_frame
        assert bpy.data.objects[f"TIMAR {label} rig"].animation_data.action.name == \
            f"TIMAR {label} take 1"
    scene.frame_set(scene.timar.start_frame + 25 * done - 1)       # evaluates without error


def test_shutdown_mid_run_stops_thread_and_timer(scene, long_audio_pair):
    scene.timar.speaker_a.audio, scene.timar.speaker_b.audio = long_audio_pair
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
    generation.torch_available = lambda: False
    return "PyTorch is not installed"


def _bad_cuda(scene, tmp):
    import torch
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    scene.timar.device = 'CUDA'
    return "CUDA was requested"


def _bad_checkpoint(scene, tmp):
    p = tmp / "model.pt"
    p.write_bytes(b"\x00" * 100)
    scene.timar.checkpoint = str(p)
    return "not a PyTorch checkpoint"


def _bad_official_missing_speech_folder(scene, tmp):
    from model_core.official_testing import random_release_state, write_release
    release = write_release(tmp / "TIMAR.pth", random_release_state(
        width=64, depth=1, diff_width=32, diff_depth=1, feat_dim=32), full=False)
    p = prefs.get_prefs()
    p.model_source, p.official_checkpoint = 'OFFICIAL', release
    p.speech_model_dir = str(tmp / "wav2vec2-large-960h-lv60-self")
    scene.timar.checkpoint = ""          # the preferences' choice applies
    return "official TIMAR weights are not set up.*speech model folder not found"


def _bad_custom_checkpoint_unset(scene, tmp):
    prefs.get_prefs().model_source = 'CUSTOM'
    scene.timar.checkpoint = ""
    return "Custom checkpoint but no file is chosen"


@pytest.mark.parametrize("make_bad", [_bad_missing_audio, _bad_unreadable_audio, _bad_head,
                                      _bad_no_torch, _bad_cuda, _bad_checkpoint,
                                      _bad_official_missing_speech_folder,
                                      _bad_custom_checkpoint_unset],
                         ids=lambda f: f.__name__[5:])
def test_bad_inputs_report_and_leave_scene_unchanged(scene, tmp_path, make_bad, monkeypatch):
    monkeypatch.setattr(generation, "torch_available", generation.torch_available)
    expected = make_bad(scene, tmp_path)
    before = snapshot()
    with pytest.raises(TimarError, match=expected):   # the add-on's UserError or the core's
        ops_generate.build_job(scene)
    # an ERROR report reaches Python as RuntimeError carrying the message
    with pytest.raises(RuntimeError, match=expected):
        bpy.ops.timar.generate()
    assert snapshot() == before


def test_listener_preview_from_npz(scene, tiny_checkpoint, tmp_path):
    from model_core.face.flame import save_motion_npz
    motion_b = synthetic_motion(75, 11)
    save_motion_npz(tmp_path / "b.npz", motion_b)
    s = scene.timar
    s.checkpoint, s.device, s.context_turns, s.steps = str(tiny_checkpoint), 'CPU', 1, 2
    s.speaker_b.motion_file = str(tmp_path / "b.npz")
    assert bpy.ops.timar.generate(target='A') == {'FINISHED'}
    m = flame_motion.prepare_motion(motion_b)
    vals = keys("TIMAR B take 1 shapes", 'key_blocks["BrowUp"].value')[1]
    assert np.allclose(vals, np.clip(0.4 * m[:, 4] + 0.25 * m[:, 6], 0, 1), atol=1e-5)
    assert len(keys("TIMAR A take 1 shapes", 'key_blocks["Smile"].value')[0]) == 75
    s.speaker_a.motion_file = ""
    with pytest.raises(GenerationError, match="FLAME motion file"):
        ops_generate.build_job(scene, 'B')


def test_listener_preview_from_a_live_link_take(scene, tiny_checkpoint, tmp_path):
    """A Live Link Face take as speaker B's motion file keys head B exactly as the FLAME
    npz it converts to does."""
    from model_core.face.livelink import write_livelink_csv
    from model_core.face.livelink_motion import take_from_head
    from model_core.face.flame import save_motion_npz
    from model_core.face.motion_files import load_motion
    motion = synthetic_motion(75, 12)
    write_livelink_csv(tmp_path / "b.csv", take_from_head(motion))
    converted = load_motion(tmp_path / "b.csv")
    assert np.abs(converted[:, 53:56] - motion[:, 53:56]).max() < 1e-5      # the neck survives
    save_motion_npz(tmp_path / "b.npz", converted)
    s = scene.timar
    s.checkpoint, s.device, s.context_turns, s.steps = str(tiny_checkpoint), 'CPU', 1, 2
    s.speaker_b.motion_file = str(tmp_path / "b.npz")
    assert bpy.ops.timar.generate(target='A') == {'FINISHED'}
    s.speaker_b.motion_file = str(tmp_path / "b.csv")
    assert np.array_equal(ops_generate.build_job(scene, 'A').request.motion_b, converted)
    assert bpy.ops.timar.generate(target='A') == {'FINISHED'}
    mouth = keys("TIMAR B take 2 shapes", 'key_blocks["jawOpen"].value')[1]
    assert len(mouth) == 75 and mouth.max() > 0.05           # the take's jaw opens the mouth
    compared = 0
    for action in [a for a in bpy.data.actions if a.name.startswith("TIMAR B take 1")]:
        other = bpy.data.actions[action.name.replace("take 1", "take 2")]
        for fc in fcurves.action_fcurves(action):
            npz_keys = fcurves.read_keys(fcurves.action_fcurves(action), fc.data_path, fc.array_index)
            csv_keys = fcurves.read_keys(fcurves.action_fcurves(other), fc.data_path, fc.array_index)
            assert np.allclose(csv_keys[1], npz_keys[1], atol=1e-6), fc.data_path
            compared += 1
    assert compared >= 6                      # shape keys and the neck and jaw bones


def test_threaded_real_model_equals_sync(scene, tiny_checkpoint):
    """torch in the worker thread, keys written by the poll function: same keys as execute()."""
    s = scene.timar
    s.checkpoint, s.device, s.context_turns, s.steps, s.seed = str(tiny_checkpoint), 'CPU', 2, 2, 3
    assert bpy.ops.timar.generate() == {'FINISHED'}
    sync = keys("TIMAR A take 1 shapes", 'key_blocks["Smile"].value')[1].copy()
    job = jobs.start(ops_generate.build_job(scene), use_timer=False)
    for _ in range(3000):
        if jobs.poll() is None:
            break
        job.worker.thread.join(0.01)
    assert job.state == "done" and job.progress.turns_done == job.progress.turns_total == 3
    assert np.allclose(keys("TIMAR A take 2 shapes", 'key_blocks["Smile"].value')[1], sync, atol=1e-6)


def test_demo_heads_operator_picks_sample_dialogue(addon):
    from timar_blender import ops_scene
    bpy.ops.wm.read_homefile(use_empty=True)
    assert bpy.ops.timar.add_demo_heads() == {'FINISHED'}
    s = bpy.context.scene.timar
    assert s.speaker_a.head.name == "TIMAR A" and s.speaker_b.preset == "timar_demo"
    sample = ops_scene.sample_audio()
    if sample is None:
        pytest.skip("assets/sample has no sample dialogue")
    assert (s.speaker_a.audio, s.speaker_b.audio) == sample
    bpy.ops.wm.read_homefile(use_empty=True)


def test_model_choice_precedence(scene, tiny_checkpoint, tmp_path):
    """A scene's Checkpoint overrides the preferences; otherwise their choice applies."""
    p = prefs.get_prefs()
    p.model_source, p.official_checkpoint = 'OFFICIAL', str(tmp_path / "absent.pth")
    p.speech_model_dir = str(tmp_path / "w2v")
    choice = model_choice.resolve(p, scene.timar.checkpoint)
    assert (choice.kind, choice.checkpoint) == ('SCENE', str(tiny_checkpoint))
    assert choice.speech_model_dir == str(tmp_path / "w2v")   # in case it is a release file
    assert bpy.ops.timar.generate() == {'FINISHED'}          # the official set-up is not needed
    scene.timar.checkpoint = ""
    p.model_source, p.custom_checkpoint = 'CUSTOM', str(tiny_checkpoint)
    assert ops_generate.build_job(scene).request.checkpoint == str(tiny_checkpoint)
    p.model_source = 'BUNDLED'
    assert model_choice.resolve(p, "") == model_choice.ModelChoice('BUNDLED', None, None)


def test_panels_and_preferences_draw(scene, tmp_path):
    """Draw every panel against a recording layout: catches wrong property names."""
    from types import SimpleNamespace
    from unittest import mock
    from timar_blender import ui
    scene.timar.speaker_a.preset = 'CUSTOM'
    for cls in ui.classes:
        layout = mock.MagicMock()
        cls.draw(SimpleNamespace(layout=layout), bpy.context)
        for call in layout.mock_calls:
            if call[0].endswith("prop"):
                owner, name = call[1][0], call[1][1]
                assert hasattr(owner, name) or isinstance(owner, mock.Mock), name
    options = mock.MagicMock()
    ui.VIEW3D_PT_timar_options.draw(SimpleNamespace(layout=options), bpy.context)
    assert "motion_coherence" in [c[1][1] for c in options.mock_calls if c[0].endswith("prop")]
    assert "Model: this scene's checkpoint" in [c[2].get("text") for c in options.mock_calls
                                                if c[0].endswith("label")]
    p = prefs.get_prefs()
    p.official_checkpoint, p.speech_model_dir = str(tmp_path / "TIMAR.pth"), str(tmp_path / "w2v")
    drawn = {}
    for source in ('BUNDLED', 'OFFICIAL', 'CUSTOM'):
        p.model_source = source
        layout = mock.MagicMock()
        prefs.TIMAR_AddonPreferences.draw(SimpleNamespace(layout=layout, **{
            name: getattr(p, name) for name in p.bl_rna.properties.keys() if name != "rna_type"}),
            bpy.context)
        calls = layout.mock_calls
        drawn[source] = ([c[2].get("text", "") for c in calls if c[0].endswith("label")],
                         [c[1][1] for c in calls if c[0].endswith("prop")])
    labels, props_drawn = drawn['OFFICIAL']
    assert any("PyTorch" in t for t in labels) and "model_source" in props_drawn
    assert {"official_checkpoint", "speech_model_dir"} <= set(props_drawn)
    assert any("10-20x slower than real time" in t for t in labels)
    # the checklist: speech_model.setup_problems, one entry per problem (wrapped over labels)
    text = " ".join(labels)
    assert "TIMAR.pth not found" in text and "speech model folder not found" in text
    assert "custom_checkpoint" in drawn['CUSTOM'][1]
    assert "official_checkpoint" not in drawn['BUNDLED'][1]


def test_quitting_mid_run_exits_cleanly(tmp_path, long_audio_pair, tiny_checkpoint):
    """A process that quits with a generation running (timer registered, worker alive)
    must exit 0 without hanging: the atexit hook stops both (4.2 crashed, 4.5 hung)."""
    import subprocess
    import textwrap
    script = tmp_path / "quit_mid_run.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        os.environ["BLENDER_USER_RESOURCES"] = {str(tmp_path / "res")!r}
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        import bpy, timar_blender
        from timar_blender import jobs, ops_generate
        timar_blender.register()
        bpy.ops.timar.add_demo_heads()
        s = bpy.context.scene.timar
        s.speaker_a.audio, s.speaker_b.audio = {long_audio_pair!r}
        s.checkpoint, s.device = {str(tiny_checkpoint)!r}, 'CPU'
        job = jobs.start(ops_generate.build_job(bpy.context.scene))
        assert bpy.app.timers.is_registered(jobs.poll) and job.worker.thread.is_alive()
        print("quitting mid-run", flush=True)
    """))
    # Loading and starting may be slow on a loaded machine (a generous limit); what is
    # tested is the exit: once the script has printed its last line, the process must end
    # promptly and cleanly.
    import signal
    import threading
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines, reached = [], threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if "quitting mid-run" in line:
                reached.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        started = reached.wait(900)
        assert started or proc.poll() is not None, "the script did not start the run in 900 s"
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the process hung at exit with a generation running: " + "".join(lines)[-2000:])
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    reader.join(10)
    assert proc.returncode == 0, "".join(lines)[-3000:]
    assert "quitting mid-run" in "".join(lines)


def _panel_line(context=None) -> str | None:
    """The status line the Generate panel draws when no run is going (None: no line)."""
    from types import SimpleNamespace
    from unittest import mock
    from timar_blender import ui
    layout = mock.MagicMock()
    ui.VIEW3D_PT_timar_generate.draw(SimpleNamespace(layout=layout), context or bpy.context)
    texts = [c[2].get("text") for c in layout.mock_calls if c[0].endswith("label")]
    return texts[-1] if texts else None


def _drain(job, cancel_after: int | None = None):
    for _ in range(20000):
        if jobs.poll() is None:
            return
        if cancel_after is not None and job.progress.turns_done >= cancel_after:
            jobs.cancel()
        job.worker.thread.join(0.02)
    raise AssertionError("the run did not end")


def test_panel_line_says_how_each_run_ended(scene, long_audio_pair):
    """After a run the panel's line is its outcome, never the last progress text."""
    wm = bpy.context.window_manager
    # done (the operator's synchronous path)
    assert bpy.ops.timar.generate() == {'FINISHED'}
    done = wm.timar_progress.text
    assert done.startswith("Done: 3/3 turns") and "TIMAR A take 1" in done, done
    assert _panel_line() == done and not wm.timar_progress.running
    # cancelled mid-run (the threaded path)
    scene.timar.speaker_a.audio, scene.timar.speaker_b.audio = long_audio_pair
    job = ops_generate.build_job(scene)
    jobs.start(job, use_timer=False)
    _drain(job, cancel_after=2)
    p = job.progress
    assert job.state == "cancelled" and 2 <= p.turns_done < p.turns_total == 150
    line = wm.timar_progress.text
    assert line == (f"Cancelled: kept {p.turns_done} of {p.turns_total} turns "
                    "(TIMAR A take 2, TIMAR B take 2)"), line
    assert "RTF" not in line and _panel_line() == line
    # failed: a head removed before its first turn arrived
    job = ops_generate.build_job(scene)
    bpy.data.objects.remove(bpy.data.objects["TIMAR B"])
    jobs.start(job, use_timer=False)
    _drain(job)
    assert job.state == "error"
    line = wm.timar_progress.text
    assert line.startswith("Failed: the head 'TIMAR B' was removed"), line
    assert _panel_line() == line


def test_speaker_dials_rig_report_and_panel_preview(scene, audio_pair, tiny_checkpoint):
    """Issue 18 through the panel: each speaker's strengths reach its own take (times the
    scene's intensity), Generate reports per head what it keyed, and the speaker panel
    shows the preset's match before Generate (or why it does not fit)."""
    from types import SimpleNamespace
    from unittest import mock
    from timar_blender import ui
    s = scene.timar
    s.seed, s.intensity_jaw = 7, 0.5
    s.speaker_a.dial_jaw, s.speaker_b.dial_head = 2.0, 0.0
    layout = mock.MagicMock()
    ui.VIEW3D_PT_timar_speaker_a.draw(SimpleNamespace(layout=layout), bpy.context)
    labels = [c[2].get("text", "") for c in layout.mock_calls if c[0].endswith("label")]
    assert "18 of 18 ARKit channels" in labels and "3 of 3 shape keys" in labels, labels
    assert any("neck/head bones neck" in t for t in labels)
    job = jobs.run_sync(ops_generate.build_job(scene))     # what Generate's execute runs
    assert job.state == "done"
    lines = job.head_summaries()                            # its INFO reports, one per head
    assert lines[0].startswith("A: TIMAR A: 18 of 18 ARKit channels; 3 of 3 shape keys") and lines[1].startswith("B: ")
    assert job.rig_reports["A"]["dials"]["jaw"] == 1.0 and job.rig_reports["B"]["dials"] == {
        "jaw": 0.5, "lips": 1.0, "expression": 1.0, "head": 0.0, "eyes": 1.0}
    ref = direct_run(tiny_checkpoint, audio_pair, seed=7)
    preset = rig_preset.get_preset("timar_demo")
    for label, motion, jaw, head in (("A", ref.motion_a, 1.0, 1.0), ("B", ref.motion_b, 0.5, 0.0)):
        m = flame_motion.prepare_motion(motion, 1.0, jaw, head)
        quats = rig_targets.bone_quaternions(preset, m)
        got = keys(f"TIMAR {label} take 1", 'pose.bones["neck"].rotation_quaternion', 1)
        assert np.allclose(got[1], quats["neck"][:, 1], atol=1e-5), label
        # the jaw dial scales the face frame's jawOpen (the key that opens the demo jaw)
        face = getattr(ref, f"face_{label.lower()}")
        want = rig_channels.combine(motion, face)[:, rig_channels.channel_index("jawOpen")] * jaw
        got = keys(f"TIMAR {label} take 1 shapes", 'key_blocks["jawOpen"].value')[1]
        assert np.allclose(got, want, atol=1e-5) and (jaw == 1.0 or want.max() > 0), label
    # a preset that fits nothing is shown as refused, with what it looked for
    s.speaker_b.preset = "flame"
    layout = mock.MagicMock()
    ui.VIEW3D_PT_timar_speaker_b.draw(SimpleNamespace(layout=layout), bpy.context)
    labels = [c[2].get("text", "") for c in layout.mock_calls if c[0].endswith("label")]
    assert any("does not fit the FLAME preset" in t for t in labels), labels
