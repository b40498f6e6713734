# SPDX-License-Identifier: GPL-3.0-or-later
"""ARKit-named shape keys for the demo head, sculpted from its vertex positions (numpy only,
no bpy: the head's builder adds them as shape keys).

Every key is a smooth function of the rest positions: falloffs around the lip line, the
mouth corners, the cheeks, the brows and the lids; the tongue waits inside the mouth.
Distances are measured in units taken from the mesh itself (the mouth's half width, the
lips' depth, a brow's length, an eye's radius, the head's radii), so a larger or a finer
head gets the same shapes. Left/Right are the
subject's (+X on the demo head); each Left/Right pair sums to the symmetric shape.

Names follow Apple's ARKit blend shapes (``model_core.face.channels.ARKIT_NAMES``): the
mouth model's per-frame weights can drive them one to one."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# jawOpen = 1 is the jaw rotated by this angle, the range of FLAME's jaw between
# jawOpen 0 and 1 (model_core.face.channels.JAW_OPEN_RANGE_RAD; the demo head rests closed).
JAW_OPEN_RAD = 0.35
# with jawOpen = mouthClose = 1 the lips meet this share of the way down (the upper lip
# comes down, the lower lip comes the rest of the way up)
CLOSE_UPPER_SHARE = 0.4
BLINK_SQUASH = 0.06     # a closed eyeball's height, as a share of its rest height

ARKIT_KEYS = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker",
    "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthPressLeft", "mouthPressRight",
    "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "eyeBlinkLeft", "eyeBlinkRight", "tongueOut",
)
SIDES = {"Left": ("L", 1.0), "Right": ("R", -1.0)}     # ARKit side: (part suffix, sign of X)


@dataclass(frozen=True)
class Face:
    """Landmarks and units measured on the rest mesh."""
    mouth: np.ndarray           # (3,) the middle of the lip line
    half_width: float           # the mouth's half width (the lips' widest X from the middle)
    lip_depth: float            # the lips' half depth (Y)
    upper: np.ndarray           # vertex indices above the lip line: upper lip, mouth's roof
    lower: np.ndarray           # below it: lower lip, the mouth's floor, the tongue
    head_centre: np.ndarray     # (3,) the skull's ellipsoid
    head_radii: np.ndarray      # (3,)
    jaw_pivot: np.ndarray       # (3,)


def _smoothstep(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _bump(dist, radius):
    """1 at distance 0, falling smoothly to 0 at ``radius``."""
    return np.clip(1.0 - (dist / radius) ** 2, 0.0, 1.0) ** 2


def measure(co: np.ndarray, ranges: dict) -> Face:
    """The landmarks of the head whose parts (``ranges``: part -> vertex indices) are at
    ``co`` (n, 3)."""
    up, lo, inner = co[ranges["lip_upper"]], co[ranges["lip_lower"]], ranges["mouth"]
    line_z = 0.5 * (up[:, 2].min() + lo[:, 2].max())
    # the mouth's inside: its roof goes with the upper lip, its floor and the tongue with the
    # lower (its middle ring, exactly at half height, with the roof)
    inner_z = co[inner, 2]
    roof = inner_z >= 0.5 * (inner_z.min() + inner_z.max()) - 1e-6 * np.ptp(inner_z)
    lips = np.concatenate([up, lo])
    cx = 0.5 * (lips[:, 0].min() + lips[:, 0].max())
    mouth = np.array([cx, lips[:, 1].min(), line_z])
    head = co[ranges["head"]]
    lo_b, hi_b = head.min(axis=0), head.max(axis=0)
    centre, radii = 0.5 * (lo_b + hi_b), 0.5 * (hi_b - lo_b)
    # the jaw hinges below the skull's centre, a little in front of it (the rig's jaw bone)
    pivot = np.array([cx, centre[1] - 0.05 * radii[1], centre[2] - 0.13 * radii[2]])
    return Face(mouth=mouth,
                half_width=float(np.abs(lips[:, 0] - cx).max()),
                lip_depth=0.5 * float(np.ptp(up[:, 1])),
                upper=np.concatenate([ranges["lip_upper"], inner[roof]]),
                lower=np.concatenate([ranges["lip_lower"], inner[~roof], ranges["tongue"]]),
                head_centre=centre, head_radii=radii, jaw_pivot=pivot)


def _surface_y(face: Face, x, z):
    """Y of the skull's front (its ellipsoid) at (x, z): brows slide over the forehead."""
    c, r = face.head_centre, face.head_radii
    u = 1 - ((x - c[0]) / r[0]) ** 2 - ((z - c[2]) / r[2]) ** 2
    return c[1] - r[1] * np.sqrt(np.maximum(u, 0.05))


def _side_weight(x, face: Face, sign: float):
    """How much a vertex belongs to one side of the mouth: 1 beyond a quarter of the half
    width on that side, 0 on the other, the two sides summing to 1."""
    u = (x - face.mouth[0]) / face.half_width
    return _smoothstep(-0.25, 0.25, sign * u)


def _rotate_x(p, pivot, angle):
    """Rotate points (n, 3) about the X axis through ``pivot`` by ``angle`` (n,) radians."""
    d = p - pivot
    c, s = np.cos(angle), np.sin(angle)
    out = p.copy()
    out[:, 1] = pivot[1] + d[:, 1] * c - d[:, 2] * s
    out[:, 2] = pivot[2] + d[:, 1] * s + d[:, 2] * c
    return out


# ------------------------------------------------------------------ the mouth
def _lips(face: Face):
    """The lips and the mouth's inside."""
    return np.concatenate([face.upper, face.lower])


def _jaw(co, face: Face, jaw_w):
    """jawOpen: jaw-weighted vertices turn about the jaw's hinge; the chin drops."""
    return _rotate_x(co, face.jaw_pivot, JAW_OPEN_RAD * jaw_w) - co


def _close(co, face: Face, jaw_delta, jaw_w):
    """mouthClose, the corrective over jawOpen: the lower lip comes back up most of the way
    (untilted) and the upper lip stretches down to meet it: jawOpen + mouthClose = sealed
    lips. What the jaw carries (by its weights) comes back; the rest of the mouth comes down."""
    d = np.zeros_like(co)
    lips = _lips(face)
    lo, up = lips[jaw_w[lips] > 0.5], lips[jaw_w[lips] <= 0.5]
    line = face.mouth[None]
    line_drop = (_rotate_x(line, face.jaw_pivot, np.array([JAW_OPEN_RAD])) - line)[0]
    # the lower lip: back to rest, then down with the upper lip's edge (the pair keeps its
    # rest seam, moved a share of the jaw's drop down)
    d[lo] = CLOSE_UPPER_SHARE * line_drop - jaw_delta[lo]
    # the lip's lower edge comes all the way, its upper edge less: the lip stretches
    top = co[up, 2].max()
    reach = 1.0 - 0.6 * np.clip((co[up, 2] - face.mouth[2]) / (top - face.mouth[2]), 0, 1)
    d[up] = CLOSE_UPPER_SHARE * line_drop * reach[:, None]
    return d


def _toward_line(co, idx, face: Face, factor, weight):
    """Z offsets that scale the lips' height about the lip line by ``factor``."""
    return (factor - 1.0) * (co[idx, 2] - face.mouth[2]) * weight


def _pucker(co, face: Face):
    """mouthPucker: lips narrow to a kiss, push forward and grow a little fuller."""
    d = np.zeros_like(co)
    lips = _lips(face)
    m, W, D = face.mouth, face.half_width, face.lip_depth
    u = (co[lips, 0] - m[0]) / W
    d[lips, 0] = -0.42 * (co[lips, 0] - m[0])
    d[lips, 1] = -1.0 * D * (1 - 0.4 * u ** 2)
    d[lips, 2] = _toward_line(co, lips, face, 1.25, 1.0)
    return d


def _funnel(co, face: Face):
    """mouthFunnel: lips narrow, push forward and part into a round opening."""
    d = np.zeros_like(co)
    lips = _lips(face)
    m, W, D = face.mouth, face.half_width, face.lip_depth
    u = np.clip((co[lips, 0] - m[0]) / W, -1, 1)
    d[lips, 0] = -0.25 * (co[lips, 0] - m[0])
    d[lips, 1] = -0.8 * D * (1 - 0.3 * u ** 2)
    opening = 0.32 * W * np.sqrt(1 - 0.85 * u ** 2)      # round: widest in the middle
    d[lips, 2] = np.where(np.isin(lips, face.upper), opening, -opening)
    return d


def _smile(co, face: Face, sign):
    """mouthSmile: the corner goes up, out and back; the cheek above it rises."""
    d = np.zeros_like(co)
    lips = _lips(face)
    m, W, D = face.mouth, face.half_width, face.lip_depth
    s = _side_weight(co[lips, 0], face, sign)
    u = (co[lips, 0] - m[0]) / W
    d[lips, 0] = 0.16 * W * u * np.abs(u) * s
    d[lips, 1] = 0.5 * D * u ** 2 * s
    d[lips, 2] = 0.5 * W * u ** 2 * s
    return d


def _cheek_lift(co, skin, face: Face, sign, lift):
    """Skin over one cheek, above the mouth corner: up and forward by ``lift`` (mouth half
    widths), fading over a mouth's width."""
    d = np.zeros_like(co)
    m, W = face.mouth, face.half_width
    centre = np.array([m[0] + sign * 1.2 * W, m[1], m[2] + 0.6 * W])
    w = _bump(np.linalg.norm((co[skin] - centre) * (1, 0.5, 1), axis=1), 1.3 * W)
    d[skin, 2] = lift * W * w
    d[skin, 1] = -0.3 * lift * W * w
    return d


def _stretch(co, face: Face, sign):
    """mouthStretch: the corner pulls out sideways and a little down; the lips thin."""
    d = np.zeros_like(co)
    lips = _lips(face)
    m, W, D = face.mouth, face.half_width, face.lip_depth
    s = _side_weight(co[lips, 0], face, sign)
    u = (co[lips, 0] - m[0]) / W
    d[lips, 0] = 0.25 * W * u * np.abs(u) * s
    d[lips, 1] = 0.3 * D * u ** 2 * s
    d[lips, 2] = _toward_line(co, lips, face, 0.7, s) - 0.2 * W * u ** 2 * s
    return d


def _press(co, face: Face, sign):
    """mouthPress: the lips press together, thin and flat, on one side."""
    d = np.zeros_like(co)
    lips = _lips(face)
    m, W, D = face.mouth, face.half_width, face.lip_depth
    s = _side_weight(co[lips, 0], face, sign)
    u = (co[lips, 0] - m[0]) / W
    d[lips, 0] = 0.06 * W * u * np.abs(u) * s
    d[lips, 1] = 0.3 * D * s
    d[lips, 2] = _toward_line(co, lips, face, 0.5, s)
    return d


def _roll(co, face: Face, idx):
    """mouthRollUpper/Lower: one lip curls in over the teeth: it thins to the lip line and
    sinks back, leaving the skin above (below) it."""
    d = np.zeros_like(co)
    d[idx, 2] = _toward_line(co, idx, face, 0.3, 1.0)
    d[idx, 1] = 0.9 * face.lip_depth
    return d


def _lip_lift(co, face: Face, idx, sign, direction):
    """mouthUpperUp (direction +1) / mouthLowerDown (-1): one lip pulls away from the other
    on one side, its middle less than its side; the mouth's inside shows between."""
    d = np.zeros_like(co)
    m, W = face.mouth, face.half_width
    s = _side_weight(co[idx, 0], face, sign)
    u = np.clip((co[idx, 0] - m[0]) / W, -1, 1)
    d[idx, 2] = direction * 0.3 * W * s * (1 - 0.6 * u ** 2)
    return d


def _puff(co, skin, lips, face: Face):
    """cheekPuff: both cheeks swell out from the skull; the lips purse a little."""
    d = np.zeros_like(co)
    m, W, c, r = face.mouth, face.half_width, face.head_centre, face.head_radii
    normal = (co[skin] - c) / r ** 2
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    w = np.zeros(len(skin))
    for sign in (1.0, -1.0):
        centre = np.array([m[0] + sign * 1.6 * W, m[1], m[2] + 0.5 * W])
        w += _bump(np.linalg.norm((co[skin] - centre) * (1, 0.4, 1), axis=1), 1.6 * W)
    d[skin] = 0.5 * W * w[:, None] * normal
    d[lips, 0] = -0.08 * (co[lips, 0] - m[0])
    d[lips, 2] = _toward_line(co, lips, face, 0.85, 1.0)
    return d


def _tongue_out(co, face: Face, tongue):
    """tongueOut: the tongue slides out between the lips, its tip well past them; the lips
    part around it."""
    d = np.zeros_like(co)
    t = co[tongue]
    depth, height = np.ptp(t[:, 1]), np.ptp(t[:, 2])
    lips_front = co[_lips(face), 1].min()
    # forward until the tip is half the tongue's length past the lips, longer and thinner,
    # its middle raised to the lip line
    tip = t[:, 1].min()
    back = t[:, 1].max()
    stretch = 1.25
    new_y = (lips_front - 0.8 * depth) + (t[:, 1] - tip) * stretch
    mid_z = 0.5 * (t[:, 2].min() + t[:, 2].max())
    d[tongue, 1] = new_y - t[:, 1]
    d[tongue, 2] = (face.mouth[2] - mid_z) - 0.15 * (t[:, 2] - mid_z) \
        - 0.1 * height * ((t[:, 1] - tip) / (back - tip))      # the tip curls a little up
    # the lips open around it: a gap as tall as the tongue, in the middle of the mouth
    m, W = face.mouth, face.half_width
    for idx, direction in ((face.upper, 1.0), (np.setdiff1d(face.lower, tongue), -1.0)):
        u = np.clip((co[idx, 0] - m[0]) / W, -1, 1)
        d[idx, 2] = direction * 0.7 * height * (1 - u ** 2) ** 2
    return d


# ------------------------------------------------------------------ brows and eyes
def _brow(co, face: Face, idx, lift_inner, lift_outer, inward=0.0):
    """One brow: its inner end lifts by ``lift_inner`` brow lengths, its outer end by
    ``lift_outer`` (negative: down), blended along the brow; ``inward`` draws it toward
    the middle. The brow slides over the forehead's curve."""
    p = co[idx]
    mid = face.mouth[0]
    ax = np.abs(p[:, 0] - mid)
    inner, outer = ax.min(), ax.max()
    length = outer - inner
    t = (ax - inner) / length                       # 0 at the inner end, 1 at the outer
    lift = length * (lift_inner * (1 - t) ** 1.5 + lift_outer * t ** 1.5)
    d = np.zeros_like(co)
    x = p[:, 0] - np.sign(p[:, 0] - mid) * inward * length * (1 - 0.5 * t)
    z = p[:, 2] + lift
    d[idx, 0] = x - p[:, 0]
    d[idx, 2] = lift
    d[idx, 1] = _surface_y(face, x, z) - _surface_y(face, p[:, 0], p[:, 2])
    return d


def _blink(co, ranges, side):
    """eyeBlink: the upper lid comes down past the eye's middle and the eyeball flattens
    behind it, so no white or iris shows."""
    d = np.zeros_like(co)
    eye = np.concatenate([ranges[f"{p}_{side}"] for p in ("eye", "iris", "pupil")])
    white = co[ranges[f"eye_{side}"]]
    ez = 0.5 * (white[:, 2].min() + white[:, 2].max())
    radius = 0.5 * float(np.ptp(white[:, 2]))
    shut = ez - 0.15 * radius                      # where the closed lid's edge rests
    # the flattened eye sits just above the lid's edge, behind the lid
    flat_mid = shut + BLINK_SQUASH * radius
    d[eye, 2] = flat_mid + (co[eye, 2] - ez) * BLINK_SQUASH - co[eye, 2]
    lid = ranges[f"lid_{side}"]
    top, edge = co[lid, 2].max(), co[lid, 2].min()
    # stretch the lid's cap down: its edge (its flat underside) to ``shut``, the top stays
    d[lid, 2] = (top - (top - co[lid, 2]) * (top - shut) / (top - edge)) - co[lid, 2]
    return d


def arkit_shapes(co: np.ndarray, ranges: dict, jaw_weights: np.ndarray) -> dict:
    """ARKit key name -> new vertex positions (n, 3), for the demo head's parts ``ranges``
    at rest positions ``co``; ``jaw_weights`` (n,) are the jaw vertex group's."""
    face = measure(co, ranges)
    skin = ranges["head"]
    jaw = _jaw(co, face, jaw_weights)
    deltas = {"jawOpen": jaw, "mouthClose": _close(co, face, jaw, jaw_weights),
              "mouthFunnel": _funnel(co, face), "mouthPucker": _pucker(co, face)}
    for side, (suffix, sign) in SIDES.items():
        deltas[f"mouthSmile{side}"] = (_smile(co, face, sign)
                                       + _cheek_lift(co, skin, face, sign, 0.3))
        deltas[f"mouthStretch{side}"] = _stretch(co, face, sign)
        deltas[f"mouthPress{side}"] = _press(co, face, sign)
        deltas[f"mouthUpperUp{side}"] = _lip_lift(co, face, face.upper, sign, 1.0)
        deltas[f"mouthLowerDown{side}"] = _lip_lift(co, face, face.lower, sign, -1.0)
        brow = ranges[f"brow_{suffix}"]
        deltas[f"browDown{side}"] = _brow(co, face, brow, -0.3, -0.12, inward=0.12)
        deltas[f"browOuterUp{side}"] = _brow(co, face, brow, 0.0, 0.3)
        deltas[f"eyeBlink{side}"] = _blink(co, ranges, suffix)
    deltas["mouthRollLower"] = _roll(co, face, face.lower)
    deltas["mouthRollUpper"] = _roll(co, face, face.upper)
    deltas["browInnerUp"] = (_brow(co, face, ranges["brow_L"], 0.32, 0.0)
                             + _brow(co, face, ranges["brow_R"], 0.32, 0.0))
    deltas["cheekPuff"] = _puff(co, skin, _lips(face), face)
    deltas["tongueOut"] = _tongue_out(co, face, ranges["tongue"])
    return {name: co + deltas[name] for name in ARKIT_KEYS}
