# SPDX-License-Identifier: GPL-3.0-or-later
"""The keyframe writer, rig presets, demo heads, takes and NLA, frame rates — in real
Blender (the bpy wheel), against synthetic motion. Runs on the 5.0 and 4.2 wheels."""
from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

if "bpy" not in sys.modules:  # isolate prefs and extensions from the user's own
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="timar_bl_")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

bpy = pytest.importorskip("bpy")

from timar_blender import scene_setup, sequencer  # noqa: E402
from timar_blender.core import assets as core_assets  # noqa: E402
from timar_blender.core import face_channels  # noqa: E402
from timar_blender.errors import PresetError, RigError  # noqa: E402
from timar_blender.rig import channels as rig_channels, fcurves, motion as flame_motion, preset as rig_preset  # noqa: E402,F401
from timar_blender.rig import take as rig_take, targets as rig_targets  # noqa: E402,F401
from timar_blender.rig.head import resolve_head  # noqa: E402,F401
from timar_blender.testing import synthetic_motion  # noqa: E402


@pytest.fixture
def scene():
    bpy.ops.wm.read_homefile(use_empty=True)
    sc = bpy.context.scene
    sc.render.fps, sc.render.fps_base = 25, 1.0
    yield sc
    bpy.ops.wm.read_homefile(use_empty=True)


@pytest.fixture
def demo(scene):
    return scene_setup.add_demo_heads(scene)


# the demo head's ARKit keys the demo preset drives one to one from the face frame
DEMO_MOUTH = ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft",
              "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthPressLeft",
              "mouthPressRight", "mouthRollLower", "mouthRollUpper", "mouthUpperUpLeft",
              "mouthUpperUpRight", "mouthLowerDownLeft", "mouthLowerDownRight", "cheekPuff",
              "tongueOut")


def keys_of(action_name, path, index=0):
    fcs = fcurves.action_fcurves(bpy.data.actions[action_name])
    got = fcurves.read_keys(fcs, path, index)
    assert got is not None, f"no F-curve {path}[{index}] in {action_name}"
    return got


def make_flame_head(name="flame head", with_correctives=True):
    """A stand-in for a FLAME add-on head: Exp1..Exp50 (+ Pose1..18) and neck/jaw bones."""
    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=1)
    mesh = bpy.context.active_object
    mesh.name = name
    mesh.shape_key_add(name="Basis")
    for i in range(1, 51):
        mesh.shape_key_add(name=f"Exp{i}")
    if with_correctives:
        for i in range(1, 19):
            mesh.shape_key_add(name=f"Pose{i}")
    arm = bpy.data.objects.new(f"{name} rig", bpy.data.armatures.new(f"{name} rig"))
    bpy.context.scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode='EDIT')
    for bone, z in (("root", 0.0), ("neck", 0.5), ("jaw", 1.0)):
        eb = arm.data.edit_bones.new(bone)
        eb.head, eb.tail = (0, 0, z), (0, 0, z + 0.3)
    bpy.ops.object.mode_set(mode='OBJECT')
    mesh.parent = arm
    return mesh, arm


# ---------------------------------------------------------------- pure helpers

def test_channel_names_and_rotations():
    assert rig_preset.channel_index("exp1") == 0 and rig_preset.channel_index("Exp50") == 49
    assert rig_preset.channel_index("jaw_x") == 50 and rig_preset.channel_index("neck_z") == 55
    with pytest.raises(ValueError):
        rig_preset.channel_index("exp51")
    aa = np.random.default_rng(1).normal(scale=0.4, size=(20, 3))
    q = flame_motion.axis_angle_to_quaternion(aa).astype(np.float64)
    from mathutils import Quaternion
    for a, qq in zip(aa, q):
        ref = Quaternion(a / np.linalg.norm(a), np.linalg.norm(a))
        assert np.allclose(qq, tuple(ref), atol=1e-6) or np.allclose(qq, -np.array(ref), atol=1e-6)
        assert np.allclose(flame_motion.rotation_matrices(a[None])[0], np.array(ref.to_matrix()), atol=1e-6)


@pytest.mark.parametrize("fps", [24, 25, 30, 60, 30000 / 1001])
def test_resample_keeps_time(fps):
    m = synthetic_motion(101)
    r = flame_motion.resample(m, fps)
    assert len(r) == flame_motion.scene_frame_count(101, fps) == int(np.floor(100 * fps / 25 + 1e-6)) + 1
    k = len(r) - 1   # the last scene frame's time in model frames, interpolated linearly
    t = k * 25 / fps
    lo = int(np.floor(t))
    w = t - lo
    hi = min(lo + 1, 100)
    assert np.allclose(r[k], (1 - w) * m[lo] + w * m[hi], atol=1e-5)
    assert np.allclose(r[0], m[0])


def test_procedural_curves_are_prefix_stable():
    a, b = flame_motion.blink_curve(200, 25, seed=3), flame_motion.blink_curve(400, 25, seed=3)
    assert np.array_equal(a, b[:200]) and a.max() == 1.0 and (a > 0.5).mean() < 0.2
    g1, g2 = flame_motion.saccade_curve(150, 30, 1), flame_motion.saccade_curve(300, 30, 1)
    assert np.array_equal(g1, g2[:150]) and np.abs(g2).max() > 0.01


def test_presets_parse_and_reject_bad_files(tmp_path):
    keys = set(rig_preset.builtin_presets())
    assert {"flame", "timar_demo", "arkit"} <= keys
    flame = rig_preset.get_preset("flame")
    assert flame.required_shape_keys() == [f"Exp{i}" for i in range(1, 51)]
    assert flame.required_bones() == ["neck", "jaw"] and len(flame.corrective_names()) == 18
    example = rig_preset.load_preset_file(core_assets.rig_presets_dir() / "examples" / "custom_example.json")
    assert example.bones[0].axis_map[2, 1] == -1
    bad = tmp_path / "bad.json"
    bad.write_text('{"shape_keys": [{"name": "x", "weights": {"exp99": 1}}]}')
    with pytest.raises(PresetError, match="exp99"):
        rig_preset.get_preset("CUSTOM", str(bad))
    with pytest.raises(PresetError, match="not found"):
        rig_preset.get_preset("CUSTOM", str(tmp_path / "none.json"))


# ---------------------------------------------------------------- writing keys

def test_demo_heads_take_matches_preset(scene, demo):
    """The demo preset: the mouth is the face frame's ARKit channels on the head's ARKit keys
    one to one (the jaw dial scales jawOpen), the jaw opens by the jawOpen key alone (its bone
    is not keyed), Smile and the brows come from FLAME, the neck bone turns, Blink blinks."""
    head_a, head_b = demo
    assert head_a.name == "TIMAR A" and head_a.parent.type == 'ARMATURE'
    assert scene.camera is not None
    preset = rig_preset.get_preset("timar_demo")
    motion = synthetic_motion(80, seed=2)
    face = np.random.default_rng(2).uniform(0, 1, (80, rig_channels.FACE_DIM)).astype(np.float32)
    w = rig_take.write_take(head_a, motion, preset, start_frame=11, smoothing=0.0,
                            intensity_jaw=0.5, face=face)
    assert w.take_name == "TIMAR A take 1"
    assert w.action_names == ["TIMAR A take 1", "TIMAR A take 1 shapes"]
    m = flame_motion.prepare_motion(motion, 1.0, 0.5, 1.0, 0.0)
    frames, vals = keys_of(w.key_action, 'key_blocks["Smile"].value')
    assert len(frames) == 80 and frames[0] == 11 and frames[-1] == 90
    expected = np.clip(0.05 + 0.45 * m[:, 1] - 0.15 * m[:, 2], 0, 1)
    assert np.allclose(vals, expected, atol=1e-6)
    mouth = {}
    for key in DEMO_MOUTH:
        want = face[:, rig_channels.channel_index(key) - rig_channels.ARKIT_START]
        mouth[key] = want * (0.5 if key == "jawOpen" else 1.0)
        assert np.allclose(keys_of(w.key_action, f'key_blocks["{key}"].value')[1], mouth[key],
                           atol=1e-6), key
    arm = fcurves.action_fcurves(bpy.data.actions[w.arm_action])
    assert fcurves.read_keys(arm, 'pose.bones["jaw"].rotation_quaternion', 0) is None
    assert fcurves.read_keys(fcurves.action_fcurves(bpy.data.actions[w.key_action]),
                             'key_blocks["MouthOpen"].value') is None
    quat = rig_targets.bone_quaternions(preset, m)["neck"]
    for i in range(4):
        _, q = keys_of(w.arm_action, 'pose.bones["neck"].rotation_quaternion', i)
        assert np.allclose(q, quat[:, i], atol=1e-6)
    _, blink = keys_of(w.key_action, 'key_blocks["Blink"].value')
    assert blink.max() == pytest.approx(1.0)
    # the keys play: the evaluated neck and keys follow, the jaw bone stays at rest
    scene.frame_set(11 + 40)
    kb = head_a.data.shape_keys.key_blocks
    assert np.allclose(tuple(head_a.parent.pose.bones["neck"].rotation_quaternion), quat[40], atol=1e-5)
    assert np.allclose(tuple(head_a.parent.pose.bones["jaw"].rotation_quaternion), (1, 0, 0, 0))
    assert kb["Smile"].value == pytest.approx(expected[40], abs=1e-5)
    assert kb["jawOpen"].value == pytest.approx(mouth["jawOpen"][40], abs=1e-5)
    assert kb["mouthPucker"].value == pytest.approx(mouth["mouthPucker"][40], abs=1e-5)


def test_jaw_rotation_moves_the_chin_down(scene, demo):
    """A FLAME-only take (no face frames): the FLAME jaw implies jawOpen, whose key drops
    the chin."""
    head = demo[0]
    motion = np.zeros((3, 56), np.float32)
    motion[2, 50] = 0.3         # FLAME jaw opens about +X: jawOpen 0.3 / 0.35
    rig_take.write_take(head, motion, rig_preset.get_preset("timar_demo"), 1, blinks=False)
    gi = head.vertex_groups["jaw"].index
    chin = [v.index for v in head.data.vertices
            if any(g.group == gi and g.weight > 0.9 for g in v.groups)]
    assert len(chin) > 10

    def chin_z():
        ev = head.evaluated_get(bpy.context.evaluated_depsgraph_get())
        return np.mean([(ev.matrix_world @ ev.data.vertices[i].co).z for i in chin])
    scene.frame_set(1)
    closed = chin_z()
    scene.frame_set(3)
    assert head.data.shape_keys.key_blocks["jawOpen"].value == pytest.approx(0.3 / 0.35, abs=1e-5)
    assert chin_z() < closed - 0.005


def test_second_take_is_new_and_first_kept_in_nla(scene, demo):
    head = demo[0]
    preset = rig_preset.get_preset("timar_demo")
    w1 = rig_take.write_take(head, synthetic_motion(50, 1), preset, 1)
    before = keys_of(w1.key_action, 'key_blocks["BrowUp"].value')[1].copy()
    w2 = rig_take.write_take(head, synthetic_motion(75, 9), preset, 1)
    assert w2.take_name == "TIMAR A take 2"
    after = keys_of(w1.key_action, 'key_blocks["BrowUp"].value')[1]
    assert np.array_equal(before, after)
    rig_ad, key_ad = head.parent.animation_data, head.data.shape_keys.animation_data
    assert rig_ad.action.name == "TIMAR A take 2" and key_ad.action.name == "TIMAR A take 2 shapes"
    tracks = {t.name: t for t in rig_ad.nla_tracks}
    assert list(tracks) == ["TIMAR A take 1"] and tracks["TIMAR A take 1"].mute
    assert tracks["TIMAR A take 1"].strips[0].action.name == "TIMAR A take 1"


def test_user_action_is_never_overwritten(scene, demo):
    head = demo[0]
    rig = head.parent
    rig.location = (1, 2, 3)
    rig.keyframe_insert("location", frame=1)
    user = rig.animation_data.action
    user_name = user.name
    rig_take.write_take(head, synthetic_motion(30), rig_preset.get_preset("timar_demo"), 1)
    assert bpy.data.actions.get(user_name) is user
    track = rig.animation_data.nla_tracks[0]
    assert track.strips[0].action == user and not track.mute
    fcs = fcurves.action_fcurves(user) if fcurves.is_slotted(user) else user.fcurves
    assert fcs.find("location", index=2).keyframe_points[0].co[1] == pytest.approx(3)


def test_missing_rig_parts_listed_and_scene_unchanged(scene, demo):
    head = demo[1]
    n_actions = len(bpy.data.actions)
    with pytest.raises(RigError) as err:
        rig_take.write_take(head, synthetic_motion(20), rig_preset.get_preset("flame"), 1)
    assert "Exp1" in str(err.value) and "42 more" in str(err.value)
    assert len(bpy.data.actions) == n_actions and head.data.shape_keys.animation_data is None
    with pytest.raises(ValueError, match="56"):
        rig_take.write_take(head, np.zeros((10, 50)), rig_preset.get_preset("timar_demo"), 1)
    assert len(bpy.data.actions) == n_actions


def test_flame_rig_signed_sliders_and_correctives(scene):
    mesh, arm = make_flame_head()
    motion = synthetic_motion(40, 5)
    motion[:, 0] = -2.5                       # a signed coefficient
    w = rig_take.write_take(arm, motion, rig_preset.get_preset("flame"), 1, blinks=False)
    kb = mesh.data.shape_keys.key_blocks
    assert kb["Exp1"].slider_min <= -10 and kb["Exp1"].slider_max >= 10
    scene.frame_set(5)
    assert kb["Exp1"].value == pytest.approx(-2.5)
    assert kb["Exp7"].value == pytest.approx(motion[4, 6], abs=1e-5)
    corr = flame_motion.pose_correctives(motion[:, 53:56], motion[:, 50:53])
    _, pose4 = keys_of(w.key_action, 'key_blocks["Pose4"].value')
    assert np.allclose(pose4, corr[:, 3], atol=1e-6)
    neck = flame_motion.axis_angle_to_quaternion(motion[:, 53:56])
    assert np.allclose(tuple(arm.pose.bones["neck"].rotation_quaternion), neck[4], atol=1e-5)


@pytest.mark.parametrize("fps,base", [(24, 1.0), (30, 1.0), (60, 1.0), (30000, 1001.0)])
def test_other_frame_rates(scene, demo, fps, base):
    scene.render.fps, scene.render.fps_base = fps, base
    motion = synthetic_motion(51, 4)
    w = rig_take.write_take(demo[0], motion, rig_preset.get_preset("timar_demo"), 7, blinks=False)
    frames, vals = keys_of(w.key_action, 'key_blocks["BrowUp"].value')
    rate = fps / base
    assert frames[0] == 7 and len(frames) == int(np.floor(50 * rate / 25 + 1e-6)) + 1
    assert np.all(np.diff(frames) == 1)
    # 2 s into the take, the value is the model's frame 50 (the take's last)
    m = flame_motion.prepare_motion(motion)
    exp = np.clip(0.4 * m[:, 4] + 0.25 * m[:, 6], 0, 1)
    idx = int(round(2 * rate)) if abs(2 * rate - round(2 * rate)) < 1e-6 else None
    if idx is not None and idx < len(vals):
        assert vals[idx] == pytest.approx(exp[50], abs=1e-5)


def test_incremental_turns_equal_one_write(scene, demo):
    preset = rig_preset.get_preset("timar_demo")
    motion = synthetic_motion(110, 6)
    one = rig_take.write_take(demo[0], motion, preset, 1, smoothing=1.5)
    rig = resolve_head(demo[1], preset)
    inc = rig_take.TakeWriter(scene, rig, preset, 1, None, rig_take.TakeSettings(smoothing=1.5))
    for s in range(0, 110, 25):
        inc.append(motion[s:s + 25])
    for path in ('key_blocks["Smile"].value', 'key_blocks["Blink"].value'):
        assert np.allclose(keys_of(one.key_action, path)[1], keys_of(inc.key_action, path)[1])
    assert len(keys_of(inc.arm_action, 'pose.bones["neck"].rotation_quaternion', 2)[0]) == 110


def test_audio_to_sequencer(scene, tmp_path):
    sf = pytest.importorskip("soundfile")
    if not bpy.app.build_options.audaspace:
        pytest.skip("this bpy wheel has no audio (audaspace)")
    paths = []
    for i in range(2):
        p = tmp_path / f"s{i}.wav"
        sf.write(p, (0.1 * np.sin(np.arange(16000 * 3) * 0.05 * (i + 1))).astype(np.float32), 16000)
        paths.append(str(p))
    with warnings.catch_warnings(record=True) as caught:   # nothing Blender 6.0 removes
        warnings.simplefilter("always")
        strips = scene_setup.add_audio_to_sequencer(scene, paths[0], paths[1], 10)
        starts = [(sequencer.visible_start(s), sequencer.content_start(s)) for s in strips]
        ends = [sequencer.visible_end(s) for s in strips]
    assert not [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert starts == [(10, 10.0), (10, 10.0)] and len({s.channel for s in strips}) == 2
    fps = scene.render.fps / scene.render.fps_base
    assert ends == [10 + round(3 * fps)] * 2
    assert list(sequencer.strips(scene.sequence_editor)) == strips
    assert scene.frame_end >= 10 + 3 * 25 - 1 and scene.sync_mode == 'AUDIO_SYNC'
    with pytest.raises(scene_setup.SceneSetupError, match="not found"):
        scene_setup.add_audio_to_sequencer(scene, str(tmp_path / "nope.wav"), paths[1], 1)


def test_arkit_mesh_without_armature(scene):
    bpy.ops.mesh.primitive_cube_add()
    mesh = bpy.context.active_object
    mesh.name = "arkit face"
    mesh.shape_key_add(name="Basis")
    for name in ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft"):
        mesh.shape_key_add(name=name)
    motion = synthetic_motion(100, 3)
    w = rig_take.write_take(mesh, motion, "arkit", 1)
    assert w.arm_action is None and w.take_name == "arkit face take 1"
    _, jaw = keys_of(w.key_action, 'key_blocks["jawOpen"].value')
    assert np.allclose(jaw, face_channels.open_from_jaw_rad(motion[:, 50]), atol=1e-6)
    _, left = keys_of(w.key_action, 'key_blocks["eyeBlinkLeft"].value')
    _, right = keys_of(w.key_action, 'key_blocks["eyeBlinkRight"].value')
    assert np.array_equal(left, right) and left.max() == pytest.approx(1.0)
    # every ARKit channel is keyed now; without a mouth model (face frames) the smile is 0
    _, smile = keys_of(w.key_action, 'key_blocks["mouthSmileLeft"].value')
    assert np.allclose(smile, 0.0)
    assert "4 of 52 ARKit channels" in w.rig_report["summary"]
    with pytest.raises(RigError, match="nothing the .* preset drives.*jawOpen"):
        bpy.ops.mesh.primitive_cube_add()
        plain = bpy.context.active_object
        plain.shape_key_add(name="Basis")
        rig_take.write_take(plain, motion, "arkit", 1)
