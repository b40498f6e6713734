# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 18 in real Blender: characters as animators have them (every mesh of a head,
ARKit / viseme / Character Creator / VRoid spellings, neck and head bones of any skeleton
with any roll and up axis), built here in bpy, driven through the shipped arkit and
viseme presets, with the report of what was keyed. Runs on the 4.2, 5.0 and 5.2 wheels."""
from __future__ import annotations

import math
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

from model_core.face.channels import ARKIT_INDEX, FACE_DIM, VISEME_INDEX  # noqa: E402
from timar_blender.errors import RigError  # noqa: E402
from timar_blender.rig import fcurves, take as rig_take  # noqa: E402
from timar_blender.rig.head import partner_look, resolve_head  # noqa: E402
from timar_blender.rig.preset import get_preset  # noqa: E402
from timar_blender.testing import synthetic_motion  # noqa: E402
from rig_builders import armature, mesh, ready_player_me_like  # noqa: E402


@pytest.fixture
def scene():
    bpy.ops.wm.read_homefile(use_empty=True)
    sc = bpy.context.scene
    sc.render.fps, sc.render.fps_base = 25, 1.0
    yield sc
    bpy.ops.wm.read_homefile(use_empty=True)


def keys_of(action_name, path, index=0):
    got = fcurves.read_keys(fcurves.action_fcurves(bpy.data.actions[action_name]), path, index)
    assert got is not None, f"no F-curve {path}[{index}] in {action_name}"
    return got


def face_frames(n, seed=0):
    rng = np.random.default_rng(seed)
    face = rng.uniform(0, 1, size=(n, FACE_DIM)).astype(np.float32)
    return face


def writer_keys(w, mesh_name, key):
    return keys_of(w.key_actions[mesh_name], f'key_blocks["{key}"].value')[1]


@pytest.mark.parametrize("pick", ["armature", "face", "teeth", "eye", "collection"])
def test_every_mesh_of_the_character_is_keyed_from_any_pick(scene, pick):
    arm, parts = ready_player_me_like()
    coll = bpy.data.collections.new("Avatar")
    scene.collection.children.link(coll)
    for obj in [arm] + list(parts.values()):
        coll.objects.link(obj)
    head = {"armature": arm, "face": parts["face"], "teeth": parts["teeth"],
            "eye": parts["eye_l"], "collection": coll}[pick]
    motion, face = synthetic_motion(50, 2), face_frames(50, 1)
    w = rig_take.write_take(head, motion, "arkit", 1, face=face, blinks=False)
    assert w.mesh_name == "Wolf3D_Head"                      # the face, never an eyeball
    assert set(w.key_actions) == {"Wolf3D_Head", "Wolf3D_Teeth", "EyeLeft", "EyeRight"}
    jaw = face[:, ARKIT_INDEX["jawOpen"]]
    for m in ("Wolf3D_Head", "Wolf3D_Teeth", "EyeLeft"):     # the same values everywhere
        assert np.allclose(writer_keys(w, m, "jawOpen"), jaw, atol=1e-6)
    assert np.allclose(writer_keys(w, "Wolf3D_Head", "mouthFunnel"),
                       face[:, ARKIT_INDEX["mouthFunnel"]], atol=1e-6)
    assert np.allclose(writer_keys(w, "Wolf3D_Teeth", "tongueOut"),
                       face[:, ARKIT_INDEX["tongueOut"]], atol=1e-6)
    # ARKit drives the mouth: the viseme keys stay untouched (one mouth, not two)
    fcs = fcurves.action_fcurves(bpy.data.actions[w.key_actions["Wolf3D_Head"]])
    assert fcs.find('key_blocks["viseme_aa"].value') is None
    assert w.rig_report["channels"]["ARKit"]["keyed"] == 52
    assert w.rig_report["bones"]["head_motion"] == ["Neck", "Head"]
    assert w.rig_report["warnings"] == []
    # one take: one action per mesh plus the armature's, named after the pick
    assert len(w.action_names) == 5 and all(bpy.data.actions[a]["timar_take"] == w.take_name
                                            for a in w.action_names)
    w.discard()
    assert not [a for a in bpy.data.actions if a.get("timar_take")]
    assert parts["teeth"].data.shape_keys.animation_data is None


def test_viseme_preset_drives_visemes_and_vrm_vowels(scene):
    arm, parts = ready_player_me_like()
    motion, face = synthetic_motion(40, 3), face_frames(40, 2)
    w = rig_take.write_take(arm, motion, "viseme", 1, face=face)
    vis = face[:, 52:]
    assert np.allclose(writer_keys(w, "Wolf3D_Head", "viseme_I"), vis[:, VISEME_INDEX["ih"]], atol=1e-6)
    assert np.allclose(writer_keys(w, "Wolf3D_Teeth", "viseme_PP"), vis[:, VISEME_INDEX["PP"]], atol=1e-6)
    fcs = fcurves.action_fcurves(bpy.data.actions[w.key_actions["Wolf3D_Head"]])
    assert fcs.find('key_blocks["jawOpen"].value') is None        # visemes win in this preset
    assert fcs.find('key_blocks["browInnerUp"].value') is not None
    # a VRoid face: Fcl_MTH_A..O, Fcl_EYE_Close_L/R, J_Bip_C_Neck/Head (Y-up, as exported)
    vroid = armature("VRoid", {"J_Bip_C_Neck": ((0, 1.4, 0), (0, 1.5, 0), 0.0, None),
                               "J_Bip_C_Head": ((0, 1.5, 0), (0, 1.7, 0), 0.0, "J_Bip_C_Neck")},
                     rotation=(math.pi / 2, 0, 0), location=(2, 0, 0))
    body = mesh("Face", ["Fcl_MTH_A", "Fcl_MTH_I", "Fcl_MTH_U", "Fcl_MTH_E", "Fcl_MTH_O",
                         "Fcl_EYE_Close_L", "Fcl_EYE_Close_R", "Fcl_ALL_Joy"], vroid, 2)
    v = rig_take.write_take(body, motion, "viseme", 1, face=face)
    assert np.allclose(writer_keys(v, "Face", "Fcl_MTH_O"), vis[:, VISEME_INDEX["oh"]], atol=1e-6)
    assert writer_keys(v, "Face", "Fcl_EYE_Close_L").max() == pytest.approx(1.0)   # blinks
    assert v.rig_report["bones"]["head_motion"] == ["J_Bip_C_Neck", "J_Bip_C_Head"]
    assert "5 of 5 VRM vowel channels" in v.rig_report["summary"]


def test_character_creator_spellings_and_bones(scene):
    cc = armature("CC_Base_BoneRoot", {
        "CC_Base_NeckTwist01": ((0, 0, 1.45), (0, 0, 1.55), 0.3, None),
        "CC_Base_Head": ((0, 0, 1.55), (0, 0, 1.75), -0.8, "CC_Base_NeckTwist01")})
    body = mesh("CC_Base_Body", ["Jaw_Open", "Mouth_Smile_L", "Mouth_Smile_R", "Eye_Blink_L",
                                 "Eye_Blink_R", "Brow_Raise_Inner_L", "Brow_Raise_Inner_R",
                                 "Mouth_Roll_In_Lower", "Eye_L_Look_R", "V_Open"], cc, 2)
    face = face_frames(30, 4)
    w = rig_take.write_take(body, synthetic_motion(30, 1), "arkit", 1, face=face, blinks=False)
    keyed = set(w.rig_report["meshes"]["CC_Base_Body"])
    assert keyed == {"Jaw_Open", "Mouth_Smile_L", "Mouth_Smile_R", "Eye_Blink_L", "Eye_Blink_R",
                     "Brow_Raise_Inner_L", "Brow_Raise_Inner_R", "Mouth_Roll_In_Lower",
                     "Eye_L_Look_R"}
    inner = face[:, ARKIT_INDEX["browInnerUp"]]
    assert np.allclose(writer_keys(w, "CC_Base_Body", "Brow_Raise_Inner_R"), inner, atol=1e-6)
    assert np.allclose(writer_keys(w, "CC_Base_Body", "Eye_L_Look_R"),
                       face[:, ARKIT_INDEX["eyeLookInLeft"]], atol=1e-6)
    assert w.bone_names == ["CC_Base_NeckTwist01", "CC_Base_Head"]


def _head_world_rotation(arm, bone, frame, scene):
    scene.frame_set(frame)
    pb = arm.pose.bones[bone]
    posed = np.array(arm.matrix_world @ pb.matrix)[:3, :3]
    rest = np.array(arm.matrix_world @ pb.bone.matrix_local)[:3, :3]
    posed /= np.linalg.norm(posed, axis=0)
    rest /= np.linalg.norm(rest, axis=0)
    r = posed @ rest.T
    angle = math.acos(np.clip((np.trace(r) - 1) / 2, -1, 1))
    axis = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    return axis / max(np.linalg.norm(axis), 1e-12), angle, np.array(arm.matrix_world @ pb.tail)


@pytest.mark.parametrize("rig", ["z_up_no_roll", "z_up_rolled", "y_up_mixamo", "rigify_def",
                                 "turned_and_odd_bones"])
def test_a_nod_is_a_nod_on_every_skeleton(scene, rig):
    """FLAME neck pitch +0.3 rad (a nod down) turns the head bone about the character's
    left by 0.3 rad in world, forward and down, whatever the bones' rolls and axes."""
    spec = {
        "z_up_no_roll": ({"neck": ((0, 0, 1.4), (0, 0, 1.5), 0.0, None),
                          "head": ((0, 0, 1.5), (0, 0, 1.7), 0.0, "neck")}, (0, 0, 0), "head"),
        "z_up_rolled": ({"Neck": ((0, 0, 1.4), (0, 0.02, 1.5), 1.2, None),
                         "Head": ((0, 0.02, 1.5), (0, 0.0, 1.7), -2.5, "Neck")}, (0, 0, 0), "Head"),
        "y_up_mixamo": ({"mixamorig:Neck": ((0, 140, 0), (0, 150, 2), 0.0, None),
                         "mixamorig:Head": ((0, 150, 2), (0, 170, 0), 0.4, "mixamorig:Neck")},
                        (math.pi / 2, 0, 0), "mixamorig:Head"),
        "rigify_def": ({"ORG-spine.005": ((0, 0, 1.4), (0, 0, 1.5), 0.0, None),
                        "DEF-spine.005": ((0, 0, 1.4), (0, 0, 1.5), 0.7, None),
                        "DEF-spine.006": ((0, 0, 1.5), (0, 0, 1.7), 0.0, "DEF-spine.005")},
                       (0, 0, 0), "DEF-spine.006"),
        "turned_and_odd_bones": ({"neck_01": ((0, 0, 1.4), (0, -0.1, 1.45), 0.9, None),
                                  "head": ((0, -0.1, 1.45), (0.1, -0.1, 1.5), 2.0, "neck_01")},
                                 (0, 0, 0.8), "head")}[rig]
    bones, rotation, head_bone = spec
    arm = armature("rig", bones, rotation)
    if rig == "rigify_def":
        arm.data.bones["ORG-spine.005"].use_deform = False
    if rig == "y_up_mixamo":
        arm.scale = (0.01, 0.01, 0.01)
    mesh("face", ["jawOpen"], arm)
    motion = np.zeros((3, 56), np.float32)
    motion[2, 53] = 0.3
    w = rig_take.write_take(arm, motion, "arkit", 1, blinks=False)
    assert w.bone_names[-1] == head_bone
    _, _, tip_rest = _head_world_rotation(arm, head_bone, 1, scene)
    axis, angle, tip = _head_world_rotation(arm, head_bone, 3, scene)
    turn = rotation[2]
    left = np.array([math.cos(turn), math.sin(turn), 0.0])   # the character's left in world
    forward = np.cross(left, [0, 0, 1])
    assert angle == pytest.approx(0.3, abs=1e-4)
    assert np.allclose(axis, left, atol=1e-4)
    moved = tip - tip_rest
    assert moved @ forward > 0 and moved[2] < 0                # forward and down: a nod


def test_no_head_bone_and_no_mouth_are_warnings_and_nothing_matched_is_refused(scene):
    lone = mesh("brows only", ["browInnerUp", "eyeBlinkLeft"])
    w = rig_take.write_take(lone, synthetic_motion(20), "arkit", 1)
    warnings = " | ".join(w.rig_report["warnings"])
    assert "no mouth channel keyed" in warnings and "head motion not keyed" in warnings
    plain = mesh("plain", ["Key 1"])
    with pytest.raises(RigError, match="looked for .*jawOpen.*viseme_sil.*Fcl_MTH_A"):
        resolve_head(plain, get_preset("arkit"))


def test_dials_scale_their_channels_only(scene):
    arm, parts = ready_player_me_like()
    motion, face = synthetic_motion(30, 5), face_frames(30, 6)
    ref = rig_take.write_take(arm, motion, "arkit", 1, face=face, blinks=False)
    w = rig_take.write_take(arm, motion, "arkit", 1, face=face, blinks=False,
                            intensity_jaw=0.5, intensity_lips=0.0, intensity_head=0.0)
    assert np.allclose(writer_keys(w, "Wolf3D_Head", "jawOpen"),
                       0.5 * writer_keys(ref, "Wolf3D_Head", "jawOpen"), atol=1e-6)
    assert np.allclose(writer_keys(w, "Wolf3D_Head", "mouthSmileLeft"), 0.0)
    assert np.allclose(writer_keys(w, "Wolf3D_Head", "browInnerUp"),
                       writer_keys(ref, "Wolf3D_Head", "browInnerUp"))
    q = keys_of(w.arm_action, 'pose.bones["Head"].rotation_quaternion', 0)[1]
    assert np.allclose(q, 1.0)                                    # head motion off


def test_eye_look_keys_without_eye_bones_look_at_the_partner(scene):
    a = mesh("A face", ["jawOpen", "eyeLookOutLeft", "eyeLookInLeft", "eyeLookInRight",
                        "eyeLookOutRight", "eyeLookUpLeft", "eyeLookDownLeft"], location=(0, 0, 1.6))
    a.rotation_euler = (0, 0, math.pi / 2)       # faces +X, its left is +Y
    b = mesh("B face", ["jawOpen"], location=(1.0, 0.4, 1.6))
    rig_a, rig_b = resolve_head(a, get_preset("arkit")), resolve_head(b, get_preset("arkit"))
    yaw, pitch = partner_look(rig_a, rig_b)
    assert yaw == pytest.approx(math.atan2(0.4, 1.0), abs=1e-3) and pitch == pytest.approx(0, abs=1e-6)
    silent = np.zeros((100, FACE_DIM), np.float32)
    silent[:, 52] = 1.0                                  # viseme sil: listening throughout
    w = rig_take.write_take(a, np.zeros((100, 56), np.float32), "arkit", 1, face=silent,
                            look_at=(yaw, pitch), intensity_eyes=0.0)
    out_left = writer_keys(w, "A face", "eyeLookOutLeft")
    assert np.allclose(out_left, yaw / 0.45, atol=1e-5)          # to its left: B is there
    assert np.allclose(writer_keys(w, "A face", "eyeLookInLeft"), 0.0)
    assert w.rig_report["eye_keys"]


def test_turn_by_turn_equals_one_write_on_every_mesh_with_gaze(scene):
    """The Generate path appends a turn at a time: the keys (every mesh, the eye bones
    moved by the speaking-dependent gaze) equal one write of the whole take."""
    arm, _ = ready_player_me_like()
    motion, face = synthetic_motion(130, 8), face_frames(130, 9)
    face[:60, 52] = 1.0                                   # silent, then speaking
    face[60:, 52] = 0.1
    one = rig_take.write_take(arm, motion, "arkit", 1, face=face, smoothing=1.0, seed=4)
    rig = resolve_head(arm, get_preset("arkit"))
    inc = rig_take.TakeWriter(scene, rig, get_preset("arkit"), 1, None,
                              rig_take.TakeSettings(smoothing=1.0, seed=4))
    for s in range(0, 130, 25):
        inc.append(motion[s:s + 25], face[s:s + 25])
    for m, key in (("Wolf3D_Teeth", "jawOpen"), ("EyeRight", "eyeBlinkLeft"),
                   ("Wolf3D_Head", "mouthSmileLeft")):
        assert np.allclose(writer_keys(one, m, key), writer_keys(inc, m, key), atol=1e-6)
    for i in range(4):
        path = 'pose.bones["LeftEye"].rotation_quaternion'
        assert np.allclose(keys_of(one.arm_action, path, i)[1], keys_of(inc.arm_action, path, i)[1],
                           atol=1e-6)
