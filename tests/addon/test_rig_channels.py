# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure half of issue 18's rig side: the 123-channel vocabulary (FLAME, ARKit,
visemes), name matching across spellings, exclusive mouth groups, the character frame that
makes a nod a nod on any skeleton, gaze, dials and the report. No Blender."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from model_core.face import channels as face  # noqa: E402
from timar_blender.errors import UserError  # noqa: E402
from timar_blender.rig import (channels, dials, gaze, motion, names, preset,  # noqa: E402
                               report, skeleton, targets)


@pytest.mark.parametrize("name, index", [
    ("exp1", 0), ("neck_z", 55), ("eyeBlinkLeft", 56), ("JAWOPEN", 56 + 17),
    ("arkit:tongueOut", 107), ("viseme:sil", 108), ("viseme:PP", 109), ("viseme_pp", 109),
    ("viseme:ou", 122), ("viseme:U", 122), ("viseme:I", 108 + 12)])
def test_every_model_channel_has_a_name(name, index):
    assert preset.channel_index(name) == index
    assert channels.CHANNEL_DIM == 123 and len(channels.CHANNEL_NAMES) == 123


def test_dials_cover_every_channel_as_documented():
    d = dict(zip(channels.CHANNEL_NAMES, channels.DIAL_OF_CHANNEL))
    assert d["exp7"] == d["browInnerUp"] == d["noseSneerLeft"] == d["eyeSquintLeft"] == "expression"
    assert d["jaw_x"] == d["jawOpen"] == "jaw" and d["neck_y"] == "head"
    assert d["mouthSmileLeft"] == d["tongueOut"] == d["viseme:PP"] == "lips"
    assert d["eyeLookInLeft"] == d["eyeBlinkRight"] == "eyes"
    gains = channels.dial_gains(dials.Dials(jaw=2, lips=0, expression=3, head=4, eyes=5))
    assert gains[preset.channel_index("jawOpen")] == 2 and gains[preset.channel_index("viseme:aa")] == 0
    assert gains[0] == 3 and gains[54] == 4 and gains[preset.channel_index("eyeLookUpLeft")] == 5


def test_without_face_frames_the_face_is_what_flame_implies():
    m = np.zeros((4, 56), np.float32)
    m[:, 50] = [0, 0.105, 0.35, 1.0]         # closed at 0 rad, fully open at 0.35
    c = channels.combine(m, None)
    assert c.shape == (4, 123)
    assert np.allclose(c[:, preset.channel_index("jawOpen")], [0, 0.3, 1, 1], atol=1e-6)
    with pytest.raises(ValueError, match="face frames must be"):
        channels.combine(m, np.zeros((4, 52)))


@pytest.mark.parametrize("spelling", [
    "mouthSmileLeft", "MouthSmileLeft", "mouthSmile_L", "Mouth_Smile_L", "mouth_smile_left",
    "mouthSmile.L", "blendShape1.mouthSmileLeft", "Wolf3D_mouthSmileLeft",
    "CC_Base_Mouth_Smile_L", "MOUTH_SMILE_LEFT"])
def test_one_key_under_common_spellings(spelling):
    assert names.match_keys("mouthSmileLeft", ["Basis", spelling, "mouthSmileRight"]) == [spelling]


def test_builtin_aliases_character_creator_vroid_vrchat():
    assert names.match_keys("browInnerUp", ["Brow_Raise_Inner_L", "Brow_Raise_Inner_R",
                                            "Brow_Raise_Outer_L"]) == ["Brow_Raise_Inner_L",
                                                                      "Brow_Raise_Inner_R"]
    assert names.match_keys("eyeLookInLeft", ["Eye_L_Look_L", "Eye_L_Look_R"]) == ["Eye_L_Look_R"]
    assert names.match_keys("eyeBlinkLeft", ["Fcl_EYE_Close_L", "Fcl_EYE_Close_R"]) == ["Fcl_EYE_Close_L"]
    assert names.match_keys("viseme_I", ["vrc.v_ih", "vrc.v_oh"]) == ["vrc.v_ih"]
    assert names.match_keys("Fcl_MTH_A", ["A", "I"]) == ["A"]
    assert names.match_keys("mouthLeft", ["mouthSmileLeft"]) == []      # words, not substrings


@pytest.mark.parametrize("bones, neck, head", [
    ({"neck": True, "head": True}, "neck", "head"),
    ({"Neck": True, "Head": True}, "Neck", "Head"),
    ({"mixamorig:Neck": True, "mixamorig:Head": True}, "mixamorig:Neck", "mixamorig:Head"),
    ({"neck_01": True, "head": True}, "neck_01", "head"),
    ({"CC_Base_NeckTwist01": True, "CC_Base_Head": True}, "CC_Base_NeckTwist01", "CC_Base_Head"),
    ({"J_Bip_C_Neck": True, "J_Bip_C_Head": True}, "J_Bip_C_Neck", "J_Bip_C_Head"),
    ({"ORG-spine.005": False, "DEF-spine.005": True, "DEF-spine.006": True,
      "ORG-spine.006": False}, "DEF-spine.005", "DEF-spine.006"),
    ({"MCH-spine.005": True, "ORG-spine.006": True}, "MCH-spine.005", "ORG-spine.006")])
def test_neck_and_head_bones_of_common_skeletons(bones, neck, head):
    t = targets.select_targets(preset.get_preset("arkit"), [], bones)
    assert t.bone_names == [neck, head] and t.missing_roles == ()
    assert [round(b.scale, 3) for b in t.bones] == [0.4, 0.6]       # the 40/60 split


def test_one_bone_found_takes_the_whole_rotation():
    t = targets.select_targets(preset.get_preset("arkit"), [], {"Head": True})
    assert t.bone_names == ["Head"] and t.bones[0].scale == pytest.approx(1.0)
    assert t.missing_roles == ("neck",)


def test_arkit_mouth_wins_over_visemes_and_viseme_preset_keeps_visemes():
    keys = ["jawOpen", "mouthFunnel", "browInnerUp", "viseme_aa", "viseme_PP", "Fcl_MTH_A"]
    ark = targets.select_targets(preset.get_preset("arkit"), {"face": keys})
    bound = {k for _, k in ark.meshes[0].keys}
    assert {"jawOpen", "mouthFunnel", "browInnerUp"} <= bound
    assert not bound & {"viseme_aa", "viseme_PP", "Fcl_MTH_A"}
    vis = targets.select_targets(preset.get_preset("viseme"), {"face": keys})
    bound = {k for _, k in vis.meshes[0].keys}
    assert {"viseme_aa", "viseme_PP", "browInnerUp"} <= bound
    assert not bound & {"jawOpen", "mouthFunnel", "Fcl_MTH_A"}
    # a rig with visemes only: the ARKit preset falls back to them
    only = targets.select_targets(preset.get_preset("arkit"), {"face": ["viseme_aa", "Fcl_MTH_A"]})
    assert {k for _, k in only.meshes[0].keys} == {"viseme_aa"}
    vrm = targets.select_targets(preset.get_preset("viseme"), {"face": ["Fcl_MTH_A", "Fcl_MTH_O"]})
    assert vrm.mouth_targets == ["Fcl_MTH_A", "Fcl_MTH_O"]


def test_shipped_arkit_and_viseme_presets_cover_the_channel_spaces():
    ark = preset.get_preset("arkit")
    assert {t.name for t in ark.shape_keys} >= set(face.ARKIT_NAMES)
    for t in ark.shape_keys:
        if t.name in face.ARKIT_NAMES:
            assert t.weights == {preset.channel_index(t.name): 1.0}
    vis = preset.get_preset("viseme")
    sources = {next(iter(t.weights)) for t in vis.shape_keys if t.group == "viseme"}
    assert sources == set(range(channels.VISEME_START, channels.CHANNEL_DIM))


def test_a_preset_file_adds_aliases_and_names_any_channel(tmp_path):
    f = tmp_path / "mine.json"
    f.write_text(json.dumps({
        "shape_keys": [{"name": "OpenWide", "weights": {"jawOpen": 0.5, "viseme:aa": 0.5,
                                                        "exp1": 0.1}, "clamp": [0, 1]}],
        "aliases": {"OpenWide": ["MTH_open_big"]}}))
    p = preset.load_preset_file(f)
    t = targets.select_targets(p, {"m": ["mth_open_BIG", "other"]})
    assert t.meshes[0].keys == (("OpenWide", "mth_open_BIG"),)
    c = np.zeros((3, 123), np.float32)
    c[:, preset.channel_index("jawOpen")] = 0.4
    c[:, preset.channel_index("viseme:aa")] = 0.6
    assert np.allclose(targets.shape_values(t, c)["OpenWide"], 0.5)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"shape_keys": [{"name": "x", "weights": {"mouthGrin": 1}}]}))
    with pytest.raises(UserError, match="mouthGrin"):
        preset.load_preset_file(bad)


def _rot(axis, angle):
    return motion.rotation_matrices(np.asarray([axis], float) * angle)[0]


@pytest.mark.parametrize("arm_world", [np.eye(3), _rot([1, 0, 0], np.pi / 2),
                                       _rot([0, 0, 1], 0.7) @ _rot([1, 0, 0], np.pi / 2)])
@pytest.mark.parametrize("bone_rest", [np.eye(3), _rot([0, 1, 0], 1.1), _rot([1, 0, 0], -1.3),
                                       _rot([0.3, 0.5, 0.8], 2.0)])
def test_a_nod_is_a_nod_in_any_bone_frame(arm_world, bone_rest):
    """The rotation a bone gets, seen in world, is FLAME's rotation in the character's
    frame, whatever the armature's up axis and the bone's roll and direction."""
    character = skeleton.character_axes(arm_world)
    bone_world = arm_world @ bone_rest
    amap = skeleton.bone_axis_map(bone_world, character)
    nod = np.array([0.3, 0.0, 0.0])                     # FLAME: about the character's left
    local = _rot(amap @ nod / 0.3, 0.3)
    world = bone_world @ local @ bone_world.T
    assert np.allclose(world, _rot(character[:, 0], 0.3), atol=1e-9)
    # the character's left stays horizontal and its up is the world's up
    assert np.allclose(character[:, 1], [0, 0, 1]) and abs(character[2, 0]) < 1e-9


def test_look_direction_and_eye_look_keys():
    character = skeleton.character_axes(np.eye(3))        # faces -Y, left is +X
    yaw, pitch = skeleton.look_direction(character, [0, 0, 1.6], [1, -1, 1.6])
    assert yaw == pytest.approx(np.pi / 4 if np.pi / 4 < 0.5 else 0.5) and pitch == 0
    g = np.array([[0.45, 0.0], [-0.225, -0.45]], np.float32)
    k = gaze.look_key_values(g)
    assert k["eyeLookOutLeft"][0] == k["eyeLookInRight"][0] == pytest.approx(1)
    assert k["eyeLookInLeft"][1] == pytest.approx(0.5) and k["eyeLookDownRight"][1] == pytest.approx(1)
    assert k["eyeLookUpLeft"].max() == 0


def test_speaker_looks_away_and_back_listener_holds_the_partner():
    fps, n = 25.0, 500
    c = np.zeros((n, 123), np.float32)
    c[:, channels.VISEME_START] = 1.0                      # silent: listening
    c[250:, channels.VISEME_START] = 0.2                   # then speaking
    g = gaze.gaze_curve(c, fps, seed=3, look_at=(0.2, 0.05), amount=1.0)
    listening, speaking = g[30:240], g[290:]
    assert np.abs(listening - [0.2, 0.05]).max() < 0.15               # saccades only
    away = np.abs(speaking[:, 0] - 0.2) > 0.12
    assert away.any() and (~away).any()                               # away, then back
    assert np.array_equal(gaze.gaze_curve(c[:300], fps, 3, (0.2, 0.05)), g[:300])  # prefix-stable
    still = gaze.gaze_curve(c, fps, seed=3, look_at=(0.2, 0.05), amount=0.0)
    assert np.allclose(still, [0.2, 0.05])


def test_dials_text():
    d = dials.parse_dials("jaw=1.5, head_motion=0,eyes=0.25")
    assert (d.jaw, d.lips, d.head, d.eyes) == (1.5, 1.0, 0.0, 0.25)
    assert dials.parse_dials(dials.format_dials(d)) == d and dials.parse_dials("") == dials.Dials()
    for bad, msg in (("jaws=1", "cannot read 'jaws=1'"), ("jaw", "NAME=VALUE"),
                     ("lips=-1", "from 0 to 5"), ("eyes=x", "from 0 to 5")):
        with pytest.raises(dials.DialsError, match=msg):
            dials.parse_dials(bad)


def test_report_says_what_was_keyed_and_warns():
    p = preset.get_preset("arkit")
    keys = list(face.ARKIT_NAMES[:31])
    t = targets.select_targets(p, {"Wolf3D_Head": keys, "Wolf3D_Teeth": ["jawOpen"]}, {"Hips": True})
    r = report.describe_targets(t, p, "Avatar", "Wolf3D_Head", "Armature")
    assert r["channels"]["ARKit"]["keyed"] == 31 and r["channels"]["ARKit"]["of"] == 52
    assert "31 of 52 ARKit channels" in r["summary"] and "Wolf3D_Teeth too" in r["summary"]
    assert "no neck or head bone found: head motion not keyed" in r["summary"]
    assert r["mouth"] and not r["head_motion"] and len(r["warnings"]) == 1
    assert "head motion not keyed" in r["warnings"][0] and "neck_01" in r["warnings"][0]
    brows = targets.select_targets(p, {"m": ["browInnerUp"]}, {"Neck": True})
    r = report.describe_targets(brows, p, "Brows", "m", "Armature")
    assert r["head_motion"] and not r["mouth"] and "no mouth channel keyed" in r["warnings"][0]


def test_mixed_custom_example_names_arkit_and_viseme_channels():
    p = preset.load_preset_file(REPO / "assets" / "rigs" / "examples" / "custom_mixed_example.json")
    t = targets.select_targets(p, {"toon": ["mth_open_big", "mouthround", "BrowsUp"]},
                               {"Neck": True, "Head": True})
    assert {k for _, k in t.meshes[0].keys} == {"mth_open_big", "mouthround", "BrowsUp"}
    c = np.zeros((2, 123), np.float32)
    c[:, preset.channel_index("viseme:oh")] = 1.0
    assert np.allclose(targets.shape_values(t, c)["MouthRound"], 0.7)
    assert t.bone_names == ["Neck", "Head"]


def test_manifest_dials_columns_are_checked_before_anything_runs(tmp_path):
    from timar_blender.batch.manifest import COLUMNS, load_manifest
    from timar_blender.errors import ManifestError
    assert {"dials_a", "dials_b"} <= set(COLUMNS)
    good = tmp_path / "m.csv"
    good.write_text('audio_a,audio_b,dials_a,dials_b\na.wav,b.wav,"jaw=1.2,eyes=0",head=0.5\n')
    d = load_manifest(good)[0]
    assert dials.parse_dials(d.dials_a).eyes == 0 and dials.parse_dials(d.dials_b).head == 0.5
    assert d.inputs()["dials_a"] == "jaw=1.2,eyes=0"          # a change redoes the dialogue
    bad = tmp_path / "bad.csv"
    bad.write_text("audio_a,audio_b,dials_b\na.wav,b.wav,lips=9\n")
    with pytest.raises(ManifestError, match=r"line 2: dials_b: dials: lips must be a number from 0 to 5"):
        load_manifest(bad)
