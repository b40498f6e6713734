# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure half of the rig flow on the shipped presets (assets/rigs): FLAME channel names
-> indices, a preset's JSON -> targets, the targets a head has, and motion -> the value of
each target. No Blender."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from model_core import constants  # noqa: E402
from model_core.errors import TimarError  # noqa: E402
from timar_blender.errors import PresetError, UserError  # noqa: E402
from timar_blender.rig import channels, motion, preset, targets  # noqa: E402

RIGS = REPO / "assets" / "rigs"


@pytest.mark.parametrize("name, index", [("exp1", 0), ("EXP50", 49), (" exp7 ", 6),
                                         ("jaw_x", 50), ("jaw_z", 52), ("neck_x", 53),
                                         ("neck_z", 55)])
def test_channel_names_index_the_model_vector(name, index):
    assert preset.channel_index(name) == index


@pytest.mark.parametrize("bad", ["exp0", "exp51", "jaw_w", "neck", "jawx", "pose1", ""])
def test_unknown_channel_names_are_refused(bad):
    with pytest.raises(ValueError, match="unknown channel"):
        preset.channel_index(bad)


def test_the_flame_layout_is_model_cores():
    assert motion.MOTION_DIM == constants.MOTION_DIM == 56
    assert (motion.EXP, motion.JAW, motion.NECK) == (constants.EXP, constants.JAW, constants.NECK)
    assert motion.MODEL_FPS == constants.FPS


def test_shipped_presets_are_found_and_parse():
    found = preset.builtin_presets()
    assert set(found) == {p.stem for p in RIGS.glob("*.json")} >= {"flame", "timar_demo", "arkit"}
    for key in found:
        p = preset.get_preset(key)
        assert p.key == key and (p.shape_keys or p.bones)


def test_flame_preset_expands_repeat_and_correctives():
    p = preset.get_preset("flame")
    assert [t.name for t in p.shape_keys] == [f"Exp{n}" for n in range(1, 51)]
    assert all(t.weights == {n: 1.0} for n, t in enumerate(p.shape_keys))
    assert p.corrective_names() == [f"Pose{n}" for n in range(1, 19)]
    assert {b.name: b.source for b in p.bones} == {"neck": constants.NECK, "jaw": constants.JAW}
    assert p.slider_range == (-10.0, 10.0) and p.eye_bones == ["left_eye", "right_eye"]


# the demo head's ARKit keys the demo preset drives one to one from the face frame
DEMO_MOUTH = ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft",
              "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthPressLeft",
              "mouthPressRight", "mouthRollLower", "mouthRollUpper", "mouthUpperUpLeft",
              "mouthUpperUpRight", "mouthLowerDownLeft", "mouthLowerDownRight", "cheekPuff",
              "tongueOut")


def test_demo_preset_values_follow_the_json_formula():
    """The mouth: each ARKit key = its face-frame channel clamped to 0..1; Smile = 0.05 +
    0.45 exp2 - 0.15 exp3, BrowUp/BrowFrown from FLAME; the jaw only by the jawOpen key (no
    jaw bone, no MouthOpen: the mouth would open twice and jawOpen + mouthClose not seal)."""
    data = json.loads((RIGS / "timar_demo.json").read_text())
    p = preset.get_preset("timar_demo")
    rng = np.random.default_rng(3)
    m = rng.normal(0, 0.5, size=(40, channels.CHANNEL_DIM)).astype(np.float32)
    m[:, channels.ARKIT] = rng.uniform(-0.3, 1.3, size=(40, channels.ARKIT.stop - channels.ARKIT.start))
    values = targets.shape_values(p, m)
    assert set(values) == {e["name"] for e in data["shape_keys"]} \
        == set(DEMO_MOUTH) | {"Smile", "BrowUp", "BrowFrown"}
    for name in DEMO_MOUTH:
        assert np.allclose(values[name], np.clip(m[:, channels.channel_index(name)], 0, 1), atol=1e-6)
        assert values[name].min() == 0.0 and values[name].max() == 1.0   # clamped
    smile = np.clip(0.05 + 0.45 * m[:, 1] - 0.15 * m[:, 2], 0, 1)
    assert np.allclose(values["Smile"], smile, atol=1e-6)
    assert np.allclose(values["BrowUp"], np.clip(0.4 * m[:, 4] + 0.25 * m[:, 6], 0, 1), atol=1e-6)
    assert {b.name: b.source for b in p.bones} == {"neck": constants.NECK}
    assert p.blink_keys == ["Blink"] and p.eye_bones == ["eye_L", "eye_R"]
    assert "MouthOpen" not in values and "Pucker" not in values
    # FLAME alone (a model without a mouth head): the jaw opens by the jawOpen key, as
    # face_from_flame implies it (0 at 0 rad, 1 at 0.35 rad); the lips have no closure
    flame = np.zeros((3, 56), np.float32)
    flame[:, 50] = (0.0, 0.175, 0.5)
    v = targets.shape_values(p, flame)
    assert np.allclose(v["jawOpen"], (0.0, 0.5, 1.0), atol=1e-6) and np.all(v["mouthClose"] == 0)


def test_targets_keep_only_what_the_head_has():
    p = preset.get_preset("flame")
    t = targets.select_targets(p, shape_keys={"Exp1", "Exp3", "Pose2", "Other"},
                               bones={"jaw", "left_eye"})
    assert t.shape_names == ["Exp1", "Exp3", "Pose2"]
    assert t.correctives == ((1, "Pose2"),) and t.bone_names == ["jaw"]
    assert t.eye_bones == ("left_eye",)
    assert targets.select_targets(p, {"Exp1"}, {"left_eye"}, procedural=False).eye_bones == ()
    m = np.zeros((5, 56), np.float32)
    m[:, 2] = 0.7                                  # exp3
    m[:, 50] = 0.3                                 # jaw_x: opens the mouth
    values = targets.shape_values(t, m)
    assert set(values) == {"Exp1", "Exp3", "Pose2"}
    assert np.allclose(values["Exp3"], 0.7) and np.allclose(values["Exp1"], 0.0)
    # Pose2 is (R(neck) - I)[0, 1]: the neck does not turn, so 0
    assert np.allclose(values["Pose2"], 0.0)
    jaw = targets.bone_quaternions(t, m)["jaw"]
    assert jaw.shape == (5, 4)
    assert np.allclose(jaw[0], [np.cos(0.15), np.sin(0.15), 0, 0], atol=1e-6)


def test_correctives_respond_to_the_jaw():
    p = preset.get_preset("flame")
    m = np.zeros((3, 56), np.float32)
    m[:, 50] = 0.4                                 # jaw about x
    values = targets.shape_values(p, m)
    # jaw block: Pose10..Pose18 = ravel(R(jaw) - I); R_x(0.4)[1, 1] - 1 = cos(0.4) - 1
    assert np.allclose(values["Pose14"], np.cos(0.4) - 1, atol=1e-6)
    assert np.allclose(values["Pose5"], 0.0)       # the neck block stays 0


def test_custom_preset_errors_are_user_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"shape_keys": [{"name": "A", "weights": {"exp99": 1}}]}))
    with pytest.raises(PresetError, match="exp99") as err:
        preset.load_preset_file(bad)
    assert isinstance(err.value, UserError) and isinstance(err.value, TimarError)
    with pytest.raises(PresetError, match="not found"):
        preset.load_preset_file(tmp_path / "absent.json")
    with pytest.raises(PresetError, match="needs a mapping file"):
        preset.get_preset("CUSTOM")
    with pytest.raises(PresetError, match="unknown rig preset 'nope'"):
        preset.get_preset("nope")
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    with pytest.raises(PresetError, match="drives nothing"):
        preset.load_preset_file(empty)


def test_custom_example_preset_parses():
    p = preset.load_preset_file(RIGS / "examples" / "custom_example.json")
    assert p.key == "custom_example" and p.shape_keys


def test_resampling_and_frame_counts():
    x = np.arange(26, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
    assert motion.scene_frame_count(26, 25.0) == 26
    assert motion.scene_frame_count(26, 50.0) == 51
    assert motion.scene_frame_count(26, 24.0) == 25
    up = motion.resample(x, 50.0)
    assert up.shape == (51, 2) and np.allclose(up[1], 0.5) and np.allclose(up[-1], 25)
    assert np.array_equal(motion.resample(x, 25.0), x)          # 25 fps: unchanged


def test_motion_checks_and_intensity():
    with pytest.raises(ValueError, match="frames, 56"):
        motion.check_motion(np.zeros((4, 55)))
    m = np.ones((4, 56), np.float32)
    m[2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        motion.check_motion(m)
    m = np.ones((4, 56), np.float32)
    out = motion.prepare_motion(m, intensity_exp=2.0, intensity_jaw=0.5, intensity_head=0.0)
    assert np.allclose(out[:, :50], 2.0) and np.allclose(out[:, 50:53], 0.5)
    assert np.allclose(out[:, 53:], 0.0)


def test_blinks_are_prefix_stable_and_bounded():
    long, short = motion.blink_curve(500, 25.0, seed=4), motion.blink_curve(200, 25.0, seed=4)
    assert np.array_equal(long[:200], short)
    assert long.min() == 0.0 and long.max() == pytest.approx(1.0) and (long > 0.5).any()
