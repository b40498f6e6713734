# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo head's ARKit-named shape keys (timar_blender/demo_face.py), built in real
Blender: each exists, moves the part it should in the direction it should, and leaves the
rest of the head alone; jawOpen + mouthClose seals the lips. Runs on the 4.2, 5.0 and 5.2
wheels. The picture: tests/bench/demo_face_sheet.py -> assets/figures/demo_head_arkit_keys.png."""
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

from mathutils.kdtree import KDTree  # noqa: E402

from model_core.face.channels import ARKIT_INDEX, ARKIT_NAMES, FACE_DIM, JAW_OPEN_RANGE_RAD  # noqa: E402
from timar_blender import demo_face, demo_head, scene_setup  # noqa: E402
from timar_blender.batch.dialogue import _preset  # noqa: E402
from timar_blender.batch.manifest import DialogueSpec  # noqa: E402
from timar_blender.rig import fcurves, take as rig_take  # noqa: E402

MOUTH = ("lip_upper", "lip_lower", "mouth", "tongue", "head")   # what a mouth key may move
# key -> the parts it may move (every key must move some of them)
ALLOWED = {k: MOUTH for k in demo_face.ARKIT_KEYS
           if k.startswith(("jaw", "mouth", "cheek", "tongue"))}
ALLOWED |= {"browInnerUp": ("brow_L", "brow_R"), "browDownLeft": ("brow_L",),
            "browDownRight": ("brow_R",), "browOuterUpLeft": ("brow_L",),
            "browOuterUpRight": ("brow_R",),
            "eyeBlinkLeft": ("eye_L", "iris_L", "pupil_L", "lid_L"),
            "eyeBlinkRight": ("eye_R", "iris_R", "pupil_R", "lid_R")}


class Head:
    """The built demo head's shape keys (their names, values and positions, read once) and
    its parts' vertices."""

    def __init__(self):
        bpy.ops.wm.read_homefile(use_empty=True)
        obj, _ = demo_head.build_demo_head("TIMAR A", bpy.context.scene.collection,
                                           bpy.context.view_layer)
        blocks = obj.data.shape_keys.key_blocks
        self.names = [kb.name for kb in blocks]
        self.values = [kb.value for kb in blocks]
        self.keys = {}
        for kb in blocks:
            co = np.empty(len(kb.data) * 3, dtype=np.float32)
            kb.data.foreach_get("co", co)
            self.keys[kb.name] = co.reshape(-1, 3).astype(np.float64)
        self.rest = self.keys["Basis"]
        # the parts' vertex ranges, as the builder laid them out
        _, self.ranges, _ = demo_head._build_mesh("scratch", {})
        self.face = demo_face.measure(self.rest, self.ranges)

    def positions(self, key):
        return self.keys[key]

    def pose(self, **values):
        """Rest + the keys' offsets at these values (what Blender's relative keys mix)."""
        p = self.rest.copy()
        for key, v in values.items():
            p += v * (self.positions(key) - self.rest)
        return p

    def part(self, *names):
        return np.concatenate([self.ranges[n] for n in names])

    def corner(self, sign):
        """The lip vertices at one corner (sign +1: the subject's left, +X)."""
        lips = self.part("lip_upper", "lip_lower")
        u = (self.rest[lips, 0] - self.face.mouth[0]) / self.face.half_width
        return lips[sign * u > 0.8]


@pytest.fixture(scope="module")
def head():
    yield Head()
    bpy.ops.wm.read_homefile(use_empty=True)


def lip_gap(p, head):
    """The least distance between an upper-lip and a lower-lip vertex."""
    a, b = p[head.ranges["lip_upper"]], p[head.ranges["lip_lower"]]
    return np.linalg.norm(a[:, None] - b[None], axis=2).min()


def centre_opening(p, head):
    """The height of the opening between the lips in the middle of the mouth."""
    up, lo, m = head.ranges["lip_upper"], head.ranges["lip_lower"], head.face.mouth
    def mid(idx):
        return idx[np.abs(head.rest[idx, 0] - m[0]) < 0.2 * head.face.half_width]
    return p[mid(up), 2].min() - p[mid(lo), 2].max()


def test_every_key_is_an_arkit_name_and_the_flame_keys_stay(head):
    names = head.names
    assert names[:1 + len(demo_head.SHAPE_KEYS)] == ["Basis", *demo_head.SHAPE_KEYS]
    assert names[1 + len(demo_head.SHAPE_KEYS):] == list(demo_face.ARKIT_KEYS)
    assert set(demo_face.ARKIT_KEYS) <= set(ARKIT_NAMES)
    assert all(v == 0.0 for v in head.values[1:])      # at rest
    assert demo_face.JAW_OPEN_RAD == pytest.approx(JAW_OPEN_RANGE_RAD)


@pytest.mark.parametrize("key", demo_face.ARKIT_KEYS)
def test_each_key_moves_only_its_parts(head, key):
    moved = np.linalg.norm(head.positions(key) - head.rest, axis=1)
    allowed = head.part(*ALLOWED[key])
    assert moved[allowed].max() > 0.1 * head.face.half_width, f"{key} barely moves"
    others = np.setdiff1d(np.arange(len(moved)), allowed)
    assert moved[others].max() == 0.0, f"{key} moves parts it should not"


def test_jaw_open_parts_the_lips_and_mouth_close_seals_them(head):
    W = head.face.half_width
    rest, opened = lip_gap(head.rest, head), lip_gap(head.pose(jawOpen=1), head)
    sealed = lip_gap(head.pose(jawOpen=1, mouthClose=1), head)
    assert rest < 0.02 * W             # the lips touch at rest
    assert opened > 0.8 * W            # the jaw alone opens the mouth wide
    assert sealed < 0.02 * W           # mouthClose over it brings them back together
    chin = head.ranges["head"][head.rest[head.ranges["head"], 2] < head.face.mouth[2] - W]
    drop = head.pose(jawOpen=1, mouthClose=1)[chin, 2] - head.rest[chin, 2]
    assert drop.min() < -0.5 * W        # ...while the chin stays down


def test_pucker_brings_the_corners_in_and_the_lips_forward(head):
    p, m = head.pose(mouthPucker=1), head.face.mouth
    for sign in (1, -1):
        c = head.corner(sign)
        assert np.abs(p[c, 0] - m[0]).max() < 0.7 * np.abs(head.rest[c, 0] - m[0]).min()
    lips = head.part("lip_upper", "lip_lower")
    assert p[lips, 1].min() < head.rest[lips, 1].min() - 0.5 * head.face.lip_depth


def test_funnel_opens_a_round_mouth_pushed_forward(head):
    p = head.pose(mouthFunnel=1)
    assert centre_opening(head.rest, head) < 0
    assert centre_opening(p, head) > 0.4 * head.face.half_width
    lips = head.part("lip_upper", "lip_lower")
    assert p[lips, 1].min() < head.rest[lips, 1].min() - 0.5 * head.face.lip_depth


@pytest.mark.parametrize("side, sign", [("Left", 1), ("Right", -1)])
def test_smile_moves_its_corner_up_and_out(head, side, sign):
    p, m, W = head.pose(**{f"mouthSmile{side}": 1}), head.face.mouth, head.face.half_width
    c, other = head.corner(sign), head.corner(-sign)
    assert (p[c, 2] - head.rest[c, 2]).mean() > 0.3 * W                         # up
    assert (np.abs(p[c, 0] - m[0]) - np.abs(head.rest[c, 0] - m[0])).mean() > 0.05 * W  # out
    assert np.abs(p[other] - head.rest[other]).max() < 0.01 * W                # the other stays


def test_left_and_right_keys_mirror_and_sum_to_the_whole(head):
    """The subject's left is +X: each Left key mirrored in X is its Right key."""
    mirror = np.array([-1.0, 1.0, 1.0])
    rest = head.rest
    # pair each vertex with its mirror image (the head is symmetric about x = 0)
    tree = KDTree(len(rest))
    for i, v in enumerate(rest):
        tree.insert(v, i)
    tree.balance()
    twin = np.array([tree.find(v * mirror)[1] for v in rest])
    assert np.allclose(rest[twin] * mirror, rest, atol=1e-6)
    for key in ("mouthSmile", "mouthStretch", "mouthPress", "mouthUpperUp",
                "mouthLowerDown", "browDown", "browOuterUp", "eyeBlink"):
        left = head.positions(f"{key}Left") - rest
        right = head.positions(f"{key}Right") - rest
        assert np.allclose(left[twin] * mirror, right, atol=1e-5), key


@pytest.mark.parametrize("side", ["L", "R"])
def test_blink_closes_the_lid_over_a_flattened_eye(head, side):
    name = f"eyeBlink{'Left' if side == 'L' else 'Right'}"
    p = head.pose(**{name: 1})
    eye, lid = head.part(f"eye_{side}", f"iris_{side}", f"pupil_{side}"), head.ranges[f"lid_{side}"]
    rest_height = np.ptp(head.rest[eye, 2])
    assert np.ptp(p[eye, 2]) < 0.1 * rest_height               # the eyeball flattens
    assert p[lid, 2].min() <= p[eye, 2].min() + 1e-6           # the lid's edge comes below it
    centre = 0.5 * (head.rest[eye, 2].min() + head.rest[eye, 2].max())
    assert p[lid, 2].min() < centre < head.rest[lid, 2].min()  # ...and below the eye's middle


def test_press_roll_and_lip_pulls_move_the_right_lip(head):
    W, m = head.face.half_width, head.face.mouth
    up, lo = head.ranges["lip_upper"], head.ranges["lip_lower"]
    left = lambda idx: idx[head.rest[idx, 0] - m[0] > 0.3 * W]     # noqa: E731
    right = lambda idx: idx[head.rest[idx, 0] - m[0] < -0.3 * W]   # noqa: E731
    p = head.pose(mouthPressLeft=1)
    assert np.ptp(p[left(up), 2]) < 0.75 * np.ptp(head.rest[left(up), 2])   # thinner
    p = head.pose(mouthRollLower=1)
    assert np.ptp(p[lo, 2]) < 0.5 * np.ptp(head.rest[lo, 2])                # rolled in
    assert p[lo, 1].mean() > head.rest[lo, 1].mean() + 0.5 * head.face.lip_depth
    p = head.pose(mouthUpperUpLeft=1)
    assert (p[left(up), 2] - head.rest[left(up), 2]).mean() > 0.1 * W
    assert np.abs(p[right(up)] - head.rest[right(up)]).max() < 0.01 * W
    p = head.pose(mouthLowerDownRight=1)
    assert (p[right(lo), 2] - head.rest[right(lo), 2]).mean() < -0.1 * W
    p = head.pose(mouthStretchLeft=1)
    c = head.corner(1)
    assert (p[c, 0] - head.rest[c, 0]).mean() > 0.1 * W


def test_brows_lift_and_lower_at_the_right_end(head):
    m = head.face.mouth
    for side, sign in (("L", 1), ("R", -1)):
        brow = head.ranges[f"brow_{side}"]
        ax = np.abs(head.rest[brow, 0] - m[0])
        inner, outer = brow[ax < np.quantile(ax, 0.2)], brow[ax > np.quantile(ax, 0.8)]
        lift = head.pose(browInnerUp=1)[:, 2] - head.rest[:, 2]
        assert lift[inner].mean() > 3 * max(lift[outer].mean(), 1e-9)
        outer_key = f"browOuterUp{'Left' if sign > 0 else 'Right'}"
        lift = head.pose(**{outer_key: 1})[:, 2] - head.rest[:, 2]
        assert lift[outer].mean() > 3 * max(lift[inner].mean(), 1e-9)
        down_key = f"browDown{'Left' if sign > 0 else 'Right'}"
        down = head.pose(**{down_key: 1})[:, 2] - head.rest[:, 2]
        assert down[brow].max() < 0 and down[inner].mean() < down[outer].mean()


def test_cheek_puff_swells_both_cheeks(head):
    skin = head.ranges["head"]
    c = head.face.head_centre
    out = (np.linalg.norm(head.pose(cheekPuff=1)[skin] - c, axis=1)
           - np.linalg.norm(head.rest[skin] - c, axis=1))
    x = head.rest[skin, 0] - head.face.mouth[0]
    for side in (x > 0, x < 0):
        assert out[side].max() > 0.2 * head.face.half_width


def test_the_tongue_hides_in_the_mouth_until_tongue_out(head):
    tongue, inside = head.ranges["tongue"], head.ranges["mouth"]
    lips = head.part("lip_upper", "lip_lower")
    for pose in ({}, {"jawOpen": 1}, {"jawOpen": 1, "mouthClose": 1}, {"mouthPucker": 1}):
        p = head.pose(**pose)
        assert p[tongue, 1].min() > p[inside, 1].min(), pose       # behind the mouth's front
    p = head.pose(tongueOut=1)
    length = np.ptp(head.rest[tongue, 1])
    assert p[tongue, 1].min() < p[lips, 1].min() - 0.5 * length    # its tip well past the lips
    assert centre_opening(p, head) > 0.5 * np.ptp(head.rest[tongue, 2])   # the lips part


def test_the_shapes_scale_with_the_head(head):
    """Mesh-size independent: a head twice the size, elsewhere, gets twice the offsets."""
    jaw = np.zeros(len(head.rest))
    jaw[head.ranges["lip_lower"]] = 1.0
    shift = np.array([0.3, -1.0, 2.0])
    small = demo_face.arkit_shapes(head.rest, head.ranges, jaw)
    big = demo_face.arkit_shapes(2 * head.rest + shift, head.ranges, jaw)
    for key in demo_face.ARKIT_KEYS:
        assert np.allclose(big[key] - (2 * head.rest + shift),
                           2 * (small[key] - head.rest), atol=1e-9), key


def test_a_template_of_demo_heads_still_gets_the_demo_preset():
    """The demo heads now fit the generic arkit preset too (jawOpen, blinks); the batch's
    preset search for a template tries the specific timar_demo first, arkit last."""
    bpy.ops.wm.read_homefile(use_empty=True)
    heads = scene_setup.add_demo_heads(bpy.context.scene)
    spec = DialogueSpec("staged", "a.wav", "b.wav", template="stage.blend")
    assert _preset(spec, heads).name == "TIMAR demo head"
    bpy.ops.mesh.primitive_ico_sphere_add()
    arkit_face = bpy.context.active_object
    arkit_face.shape_key_add(name="Basis")
    for name in ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight"):
        arkit_face.shape_key_add(name=name)
    assert _preset(spec, (arkit_face, arkit_face)).name.startswith("ARKit")
    bpy.ops.wm.read_homefile(use_empty=True)


def test_a_demo_take_seals_the_lips_on_pp_by_the_keys_alone(head):
    """Through the timar_demo preset and the take writer: an open vowel's face frame parts
    the lips, a bilabial's (jawOpen = mouthClose, pressed) seals them again as at rest, and
    the jaw bone is never keyed (it would open the mouth a second time, under the seal)."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 25, 1.0
    obj, rig = demo_head.build_demo_head("TIMAR A", scene.collection, bpy.context.view_layer)
    face = np.zeros((3, FACE_DIM), np.float32)
    for frame, values in ((1, {"jawOpen": 0.6}),
                          (2, {"jawOpen": 0.35, "mouthClose": 0.35, "mouthPressLeft": 0.3,
                               "mouthPressRight": 0.3})):
        for name, v in values.items():
            face[frame, ARKIT_INDEX[name]] = v
    motion = np.zeros((3, 56), np.float32)
    motion[:, 50] = (0.0, 0.22, 0.145)             # the FLAME jaw the mouth head gives with it
    w = rig_take.write_take(obj, motion, "timar_demo", 1, blinks=False, face=face)
    assert w.arm_action is not None and not [
        fc for fc in fcurves.action_fcurves(bpy.data.actions[w.arm_action])
        if fc.data_path.startswith('pose.bones["jaw"]')]

    def opening(frame):
        scene.frame_set(frame)
        ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        co = np.empty(len(ev.data.vertices) * 3, dtype=np.float32)
        ev.data.vertices.foreach_get("co", co)
        assert tuple(rig.pose.bones["jaw"].rotation_quaternion) == (1, 0, 0, 0)
        return centre_opening(co.reshape(-1, 3).astype(np.float64), head)

    rest, vowel, bilabial = opening(1), opening(2), opening(3)
    W = head.face.half_width
    assert vowel > rest + 0.4 * W                  # the jaw key parts the lips
    assert abs(bilabial - rest) < 0.02 * W         # jawOpen + mouthClose: sealed, as at rest
    bpy.ops.wm.read_homefile(use_empty=True)
