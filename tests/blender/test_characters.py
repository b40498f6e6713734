# SPDX-License-Identifier: GPL-3.0-or-later
"""The real test characters (tests/characters.py, tests/data/characters/README.md), imported
with the glTF importer of the wheel under test: exactly what each carries (meshes, shape-key
names in their creators' spellings, bones, skinning) and that a key still means what its
name says after the import (jawOpen lowers the jaw in Blender's world, eyeLook keys move the
eyes). These are the facts the rig tests build on; a changed file or importer fails here
first. Runs on the 4.2, 4.5, 5.0 and 5.2 wheels."""
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

from characters import CHARACTER_FILES, character_path, import_character  # noqa: E402
from model_core.face.channels import ARKIT_NAMES, VISEME_NAMES  # noqa: E402

MAX_FILE_BYTES = 3_000_000

# ICT-FaceKit spells ARKit's sides Left/Right as _L/_R (jawLeft, mouthRight... are
# directions and keep their names), splits cheekPuff and browInnerUp into halves and has
# no tongueOut.
ICT_SPLIT = ("cheekPuff", "browInnerUp")
DIRECTIONS = ("jawLeft", "jawRight", "mouthLeft", "mouthRight")


def ict_spelling(name: str) -> str:
    if name in DIRECTIONS:
        return name
    return name.replace("Left", "_L").replace("Right", "_R")


ICT_FACE_KEYS = sorted(
    [ict_spelling(n) for n in ARKIT_NAMES if n not in ICT_SPLIT and n != "tongueOut"]
    + [f"{n}_{side}" for n in ICT_SPLIT for side in "LR"])
# Ready Player Me / Oculus spelling of the 15 visemes (ih, oh, ou are I, O, U).
RPM_VISEMES = ["viseme_" + {"ih": "I", "oh": "O", "ou": "U"}.get(v, v) for v in VISEME_NAMES]
MIXAMO_CHAIN = ["mixamorig:Hips", "mixamorig:Spine", "mixamorig:Spine1", "mixamorig:Spine2",
                "mixamorig:Neck", "mixamorig:Head"]


@pytest.fixture
def scene():
    bpy.ops.wm.read_homefile(use_empty=True)
    yield bpy.context.scene
    bpy.ops.wm.read_homefile(use_empty=True)


def world_key_offsets(obj, key: str) -> np.ndarray:
    """(N, 3) world-space offsets of a shape key from the reference key."""
    keys = obj.data.shape_keys
    n = len(obj.data.vertices)
    ref, moved = np.empty(n * 3), np.empty(n * 3)
    keys.reference_key.data.foreach_get("co", ref)
    keys.key_blocks[key].data.foreach_get("co", moved)
    rot = np.array(obj.matrix_world.to_3x3())
    return (moved - ref).reshape(n, 3) @ rot.T


@pytest.mark.parametrize("name", sorted(CHARACTER_FILES))
def test_character_files_are_small(name):
    assert character_path(name).stat().st_size < MAX_FILE_BYTES


def test_ict_facekit_head(scene):
    ch = import_character("ict")
    assert ch.armature is None
    assert sorted(ch.meshes) == ["EyeballLeft", "EyeballRight", "Face", "GumsTongue", "Teeth"]
    assert sorted(ch.keyed_meshes()) == ["Face", "GumsTongue", "Teeth"]
    assert sorted(ch.shape_keys("Face")) == ICT_FACE_KEYS            # 53 keys
    assert ch.shape_keys("Teeth") == ["jawForward", "jawLeft", "jawOpen", "jawRight"]
    # The gums and tongue follow the jaw; three more keys graze them by a fraction of a mm.
    assert sorted(ch.shape_keys("GumsTongue")) == [
        "eyeBlink_L", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthStretch_R",
        "mouthUpperUp_R"]
    assert {len(o.data.vertices) for o in ch.meshes.values()} == {9409, 2977, 4412, 1570}
    assert all(ch.collection in o.users_collection for o in ch.meshes.values())


def test_ict_keys_mean_what_they_say(scene):
    ch = import_character("ict")
    face, teeth = ch.meshes["Face"], ch.meshes["Teeth"]
    jaw = world_key_offsets(face, "jawOpen")
    assert jaw[:, 2].min() < -0.01                     # the chin drops more than 1 cm ...
    assert jaw[:, 2].max() < 0.004                     # ... and nothing rises much
    lower_teeth = world_key_offsets(teeth, "jawOpen")[:, 2]
    assert (lower_teeth < -0.005).sum() > 1000         # the lower teeth go with it
    # eyeBlink_L closes the character's left eye: the moving lid is on +X (the face looks
    # down -Y in Blender once the glTF's +Z forward is converted).
    blink = world_key_offsets(face, "eyeBlink_L")
    moved = np.abs(blink).max(axis=1) > 0.002
    verts = np.array([obj_v.co[:] for obj_v in face.data.vertices])
    assert moved.sum() > 50 and (verts[moved, 0] > 0).mean() > 0.95
    assert blink[moved, 2].mean() < 0                  # the upper lid comes down


def test_mpfb_head(scene):
    ch = import_character("mpfb")
    assert ch.bone_names() == MIXAMO_CHAIN
    assert sorted(ch.meshes) == ["MPFB_EyeLeft", "MPFB_EyeRight", "MPFB_Eyelashes", "MPFB_Head",
                                 "MPFB_Teeth", "MPFB_Tongue"]
    assert sorted(ch.keyed_meshes()) == sorted(ch.meshes)             # every mesh has keys
    head = set(ch.shape_keys("MPFB_Head"))
    assert head == (set(ARKIT_NAMES) - {"tongueOut"}) | (set(RPM_VISEMES) - {"viseme_sil"})
    assert len(head) == 65
    # tongueOut lives on the tongue only; viseme_sil moves nothing, so no mesh carries it.
    assert "tongueOut" in ch.shape_keys("MPFB_Tongue")
    assert all("viseme_sil" not in ch.shape_keys(m) for m in ch.meshes)
    jaw_keys = {"jawForward", "jawLeft", "jawOpen", "jawRight"}
    assert jaw_keys <= set(ch.shape_keys("MPFB_Teeth"))
    assert jaw_keys | {"tongueOut", "viseme_aa"} <= set(ch.shape_keys("MPFB_Tongue"))
    assert ch.shape_keys("MPFB_EyeLeft") == ["eyeLookDownLeft", "eyeLookInLeft",
                                             "eyeLookOutLeft", "eyeLookUpLeft"]
    assert ch.shape_keys("MPFB_EyeRight") == [n.replace("Left", "Right")
                                              for n in ch.shape_keys("MPFB_EyeLeft")]
    assert len(ch.shape_keys("MPFB_Eyelashes")) == 22 and "eyeBlinkLeft" in ch.shape_keys(
        "MPFB_Eyelashes")
    for obj in ch.meshes.values():                     # skinned to the Mixamo chain
        assert obj.parent == ch.armature
        assert [m.object for m in obj.modifiers if m.type == 'ARMATURE'] == [ch.armature]
        assert [g.name for g in obj.vertex_groups] == MIXAMO_CHAIN


def test_mpfb_bones_and_keys_in_world_space(scene):
    ch = import_character("mpfb")
    bones = ch.armature.data.bones
    neck, head = bones["mixamorig:Neck"], bones["mixamorig:Head"]
    assert head.parent == neck and neck.parent == bones["mixamorig:Spine2"]
    to_world = ch.armature.matrix_world
    head_base = to_world @ head.head_local
    assert 1.4 < head_base.z < 1.7                     # an adult standing on the floor
    # glTF keeps no bone tails: the importer points the last bone along its parent
    assert (to_world @ head.tail_local).z > head_base.z + 0.02
    assert (to_world @ neck.head_local).z < head_base.z
    # Most of the face follows the Head bone.
    face = ch.meshes["MPFB_Head"]
    weights = [g.weight for v in face.data.vertices for g in v.groups
               if face.vertex_groups[g.group].name == "mixamorig:Head"]
    assert len(weights) > 0.6 * len(face.data.vertices)
    jaw = world_key_offsets(face, "jawOpen")
    assert jaw[:, 2].min() < -0.02                     # the chin drops 3.4 cm ...
    assert jaw[:, 2].max() < 0.25 * -jaw[:, 2].min()   # ... far more than anything rises
    look_up = world_key_offsets(ch.meshes["MPFB_EyeLeft"], "eyeLookUpLeft")
    assert np.abs(look_up).max() > 0.001


def test_two_imports_keep_the_file_names(scene):
    """Two copies of a character (a dialogue's two heads): the second gets Blender's .001
    object names, its own collection and armature; the helper keeps the file's names."""
    a = import_character("mpfb", "speaker A")
    b = import_character("mpfb", "speaker B")
    assert sorted(a.meshes) == sorted(b.meshes)
    assert b.meshes["MPFB_Head"].name == "MPFB_Head.001"
    assert a.armature != b.armature and b.meshes["MPFB_Head"].parent == b.armature
    assert b.collection.name == "speaker B" and len(b.collection.objects) == 7


# ------------------------------------------------ the real characters through the rig path
def _face_frames(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, size=(n, 67)).astype(np.float32)


def _keys(writer, mesh: str, key: str) -> np.ndarray:
    from timar_blender.rig import fcurves
    fcs = fcurves.action_fcurves(bpy.data.actions[writer.key_actions[mesh]])
    got = fcurves.read_keys(fcs, f'key_blocks["{key}"].value')
    assert got is not None, f"{key} not keyed on {mesh}"
    return got[1]


def test_mpfb_picked_by_its_armature_keys_every_mesh_and_turns_the_head(scene):
    """Issue 18 on a real character: picking the armature keys the face (not an eye), every
    mesh with ARKit keys gets the same values, the mouth is ARKit's alone (visemes untouched),
    the Mixamo neck and head bones rotate, and the report says so."""
    from timar_blender.rig import fcurves, take as rig_take
    from timar_blender.testing import synthetic_motion
    from model_core.face.channels import ARKIT_INDEX
    scene.render.fps, scene.render.fps_base = 25, 1.0     # keys frame for frame
    ch = import_character("mpfb")
    motion, face = synthetic_motion(50, 2), _face_frames(50, 1)
    w = rig_take.write_take(ch.armature, motion, "arkit", 1, face=face, blinks=False)
    assert w.mesh_name == "MPFB_Head"
    assert set(w.key_actions) == set(ch.meshes)             # all six meshes carry mapped keys
    jaw = face[:, ARKIT_INDEX["jawOpen"]]
    for mesh in ("MPFB_Head", "MPFB_Teeth", "MPFB_Tongue"):
        assert np.allclose(_keys(w, mesh, "jawOpen"), jaw, atol=1e-6)
    assert np.allclose(_keys(w, "MPFB_Tongue", "tongueOut"), face[:, ARKIT_INDEX["tongueOut"]],
                       atol=1e-6)
    head_fcs = fcurves.action_fcurves(bpy.data.actions[w.key_actions["MPFB_Head"]])
    assert head_fcs.find('key_blocks["viseme_aa"].value') is None    # one mouth, not two
    report = w.rig_report
    assert report["bones"]["head_motion"] == ["mixamorig:Neck", "mixamorig:Head"]
    assert report["channels"]["ARKit"]["keyed"] >= 51 and report["warnings"] == []
    arm_fcs = fcurves.action_fcurves(bpy.data.actions[w.arm_action])
    _, qx = fcurves.read_keys(arm_fcs, 'pose.bones["mixamorig:Head"].rotation_quaternion', 1)
    assert np.ptp(qx) > 1e-3                                  # the head moves


def test_ict_face_keys_its_teeth_and_gums_and_warns_that_nothing_turns_the_head(scene):
    """ICT-FaceKit spells sides _L/_R and has no bones: picked by its collection (a bone-less
    character has no armature or parent to gather its meshes), its keys match under that
    spelling, the teeth and gums follow the face, and the run warns that head motion was not
    keyed."""
    from timar_blender.rig import take as rig_take
    from timar_blender.testing import synthetic_motion
    from model_core.face.channels import ARKIT_INDEX
    scene.render.fps, scene.render.fps_base = 25, 1.0
    ch = import_character("ict")
    motion, face = synthetic_motion(40, 3), _face_frames(40, 2)
    pick = ch.meshes["Face"].users_collection[0]
    w = rig_take.write_take(pick, motion, "arkit", 1, face=face, blinks=False)
    assert w.mesh_name == "Face" and {"Face", "Teeth", "GumsTongue"} <= set(w.key_actions)
    assert np.allclose(_keys(w, "Face", "eyeBlink_L"), face[:, ARKIT_INDEX["eyeBlinkLeft"]],
                       atol=1e-6)
    assert np.allclose(_keys(w, "Teeth", "jawOpen"), face[:, ARKIT_INDEX["jawOpen"]], atol=1e-6)
    assert any("head" in warning for warning in w.rig_report["warnings"])
