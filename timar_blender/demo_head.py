# SPDX-License-Identifier: GPL-3.0-or-later
"""A procedural cartoon head for the TIMAR demo preset: built from spheres in a few
milliseconds, no binary assets. Local frame: the face looks along -Y, +Z is up, so a bone
pointing up with no roll has the FLAME axes (+X subject's left, +Y up, +Z out of the face).

The face is made to read at small sizes: eyeballs with iris and pupil, brows, a nose,
lips over a dark mouth that opens with the jaw, hair, ears and shoulders. Its shape keys:
a few mixed from FLAME (SHAPE_KEYS) and ARKit-named ones sculpted by demo_face (jawOpen,
mouthClose, mouthPucker, ..., eyeBlinkLeft/Right, tongueOut). The timar_demo preset drives
the ARKit mouth keys from the face frames, Smile/BrowUp/BrowFrown from FLAME and Blink;
MouthOpen and Pucker stay for custom mappings (the jawOpen key opens the jaw instead of the
jaw bone, so that jawOpen + mouthClose seals the lips)."""
from __future__ import annotations

import bmesh
import bpy
import numpy as np

from .demo_face import arkit_shapes

# name: (head, tail, parent); all bones point up (+Z) with zero roll.
BONES = {
    "root": ((0, 0, -0.06), (0, 0, 0.0), None),
    "neck": ((0, 0, 0.04), (0, 0, 0.12), "root"),
    "jaw": ((0, -0.005, 0.135), (0, -0.005, 0.16), "neck"),
    "eye_L": ((0.034, -0.079, 0.172), (0.034, -0.079, 0.19), "neck"),
    "eye_R": ((-0.034, -0.079, 0.172), (-0.034, -0.079, 0.19), "neck"),
}
# FLAME-mixed keys (Smile, BrowUp, BrowFrown, Blink driven by timar_demo; MouthOpen and
# Pucker kept for custom mappings); the ARKit-named keys of demo_face.ARKIT_KEYS follow
SHAPE_KEYS = ("MouthOpen", "Smile", "Pucker", "BrowUp", "BrowFrown", "Blink")
# Linear colours; a head's palette overrides any of them (see build_demo_head).
MATERIALS = {"Skin": (0.80, 0.56, 0.44), "Lip": (0.55, 0.22, 0.20),
             "Dark": (0.035, 0.006, 0.008), "White": (0.85, 0.85, 0.82),
             "Iris": (0.22, 0.12, 0.05), "Hair": (0.09, 0.05, 0.03),
             "Brow": (0.04, 0.022, 0.012),
             "Shirt": (0.10, 0.25, 0.55), "Tongue": (0.42, 0.10, 0.10)}
ROUGHNESS = {"White": 0.25, "Iris": 0.25, "Dark": 0.35, "Lip": 0.45, "Hair": 0.7, "Brow": 0.7,
             "Shirt": 0.85, "Tongue": 0.35}

HEAD_CENTRE, HEAD_RADII = (0.0, 0.0, 0.15), (0.085, 0.095, 0.115)
# part: (material, centre, radii, segments); pairs end in _L (+X) / _R (-X).
PARTS = {
    "head": ("Skin", HEAD_CENTRE, HEAD_RADII, (32, 20)),
    "neck": ("Skin", (0, 0.010, 0.02), (0.044, 0.042, 0.07), (16, 8)),
    "torso": ("Shirt", (0, 0.025, -0.065), (0.15, 0.085, 0.075), (24, 12)),
    "hair": ("Hair", HEAD_CENTRE, HEAD_RADII, (32, 20)),
    "ear_L": ("Skin", (0.083, 0.012, 0.150), (0.009, 0.015, 0.024), (12, 8)),
    "ear_R": ("Skin", (-0.083, 0.012, 0.150), (0.009, 0.015, 0.024), (12, 8)),
    "nose": ("Skin", (0, -0.097, 0.144), (0.012, 0.014, 0.021), (12, 8)),
    "mouth": ("Dark", (0, -0.085, 0.104), (0.023, 0.011, 0.009), (16, 8)),
    "lip_upper": ("Lip", (0, -0.0895, 0.1085), (0.026, 0.0075, 0.0048), (16, 8)),
    "lip_lower": ("Lip", (0, -0.0885, 0.0995), (0.024, 0.0075, 0.0052), (16, 8)),
    # inside the dark mouth, on its floor: hidden until tongueOut brings it out
    "tongue": ("Tongue", (0, -0.080, 0.1005), (0.013, 0.010, 0.0035), (12, 6)),
    "eye_L": ("White", (0.034, -0.079, 0.172), (0.016, 0.016, 0.016), (16, 10)),
    "eye_R": ("White", (-0.034, -0.079, 0.172), (0.016, 0.016, 0.016), (16, 10)),
    "iris_L": ("Iris", (0.034, -0.0935, 0.172), (0.009, 0.003, 0.009), (12, 6)),
    "iris_R": ("Iris", (-0.034, -0.0935, 0.172), (0.009, 0.003, 0.009), (12, 6)),
    "pupil_L": ("Dark", (0.034, -0.0955, 0.172), (0.0042, 0.0025, 0.0042), (10, 6)),
    "pupil_R": ("Dark", (-0.034, -0.0955, 0.172), (0.0042, 0.0025, 0.0042), (10, 6)),
    "lid_L": ("Skin", (0.034, -0.079, 0.172), (0.0175, 0.0175, 0.0175), (16, 10)),
    "lid_R": ("Skin", (-0.034, -0.079, 0.172), (0.0175, 0.0175, 0.0175), (16, 10)),
    "brow_L": ("Brow", (0.034, -0.0805, 0.203), (0.020, 0.006, 0.0045), (12, 6)),
    "brow_R": ("Brow", (-0.034, -0.0805, 0.203), (0.020, 0.006, 0.0045), (12, 6)),
}
# parts laid onto the face: shifted in Y to follow the skull's curve across X
ON_FACE = ("mouth", "lip_upper", "lip_lower", "tongue", "brow_L", "brow_R")
MOUTH_PARTS = ("mouth", "lip_upper", "lip_lower")
LID_LINE = 0.006        # the upper lids' edge, above the eyes' centres


def _taper(z):
    """The head's X scale at height z: narrower towards the chin."""
    t = np.clip((HEAD_CENTRE[2] - z) / HEAD_RADII[2], 0, 1)
    return 1.0 - 0.22 * t ** 1.5


def _face_y(x, z):
    """Y of the head's front surface at (x, z)."""
    rx, ry, rz = HEAD_RADII
    u = 1 - (x / (rx * _taper(z))) ** 2 - ((z - HEAD_CENTRE[2]) / rz) ** 2
    return -ry * np.sqrt(np.maximum(u, 0.05))


def _shape_parts(co, ranges):
    """Sculpt the spheres in place: chin taper, sloping shoulders, the hairline, upper lids,
    face parts bent onto the skull, arched brows."""
    h = np.concatenate([ranges["head"], ranges["hair"]])
    co[h, 0] *= _taper(co[h, 2])
    torso = ranges["torso"]
    co[torso, 2] -= 1.2 * co[torso, 0] ** 2     # sloping shoulders
    hair = ranges["hair"]       # a shell over the skull, tucked inside below the hairline
    # line: a height per angle around the head (0 = the face); the 6 % thick shell dips
    # into the skull over the 3 cm below it, so the hairline is about 1.8 cm lower
    around = np.degrees(np.arctan2(np.abs(co[hair, 0]), -co[hair, 1]))
    line = np.interp(around, (0, 35, 60, 80, 95, 130), (0.256, 0.25, 0.208, 0.17, 0.185, 0.13))
    below = np.clip((line - co[hair, 2]) / 0.03, 0, 1)
    centre = np.array(HEAD_CENTRE)
    co[hair] = centre + (co[hair] - centre) * (1.06 - 0.1 * below)[:, None]
    for s in "LR":                  # upper lids: caps over the top of the eyeballs
        idx, ez = ranges[f"lid_{s}"], PARTS[f"lid_{s}"][1][2]
        co[idx, 2] = np.maximum(co[idx, 2], ez + LID_LINE)
    for part in ON_FACE:
        idx, (cx, _, cz) = ranges[part], PARTS[part][1]
        co[idx, 1] += _face_y(co[idx, 0], cz) - _face_y(cx, cz)
    for part in ("brow_L", "brow_R"):
        idx, cx = ranges[part], PARTS[part][1][0]
        co[idx, 2] -= 6.0 * (co[idx, 0] - cx) ** 2 + 0.12 * (np.abs(co[idx, 0]) - abs(cx))


def _material(name, color, roughness):
    mat = bpy.data.materials.get(name)
    if mat is None:
        mat = bpy.data.materials.new(name)
        mat.diffuse_color = (*color, 1.0)
        if bpy.app.version < (5, 0, 0) and not mat.use_nodes:
            mat.use_nodes = True    # always on from 5.0 (the property is deprecated)
        bsdf = mat.node_tree.nodes.get("Principled BSDF") if mat.node_tree else None
        if bsdf is not None:
            bsdf.inputs["Base Color"].default_value = (*color, 1.0)
            bsdf.inputs["Roughness"].default_value = roughness
    return mat


_UNIT_SPHERES = {}


def _unit_sphere(u, v):
    """A UV sphere of radius 1: vertex positions (n, 3) and faces (vertex index lists).
    Built once per resolution: bmesh's create_uvsphere slows down as its bmesh grows."""
    if (u, v) not in _UNIT_SPHERES:
        bm = bmesh.new()
        bmesh.ops.create_uvsphere(bm, u_segments=u, v_segments=v, radius=1.0)
        bm.verts.index_update()
        _UNIT_SPHERES[u, v] = (np.array([vert.co[:] for vert in bm.verts]),
                               [[vert.index for vert in f.verts] for f in bm.faces])
        bm.free()
    return _UNIT_SPHERES[u, v]


def _build_mesh(name, palette):
    """The mesh, per part the indices of its vertices, and the vertex positions."""
    mats = list(MATERIALS)
    ranges, parts_co, faces, face_mats = {}, [], [], []
    start = 0
    for part, (mat, centre, radii, (u, v)) in PARTS.items():
        unit, unit_faces = _unit_sphere(u, v)
        ranges[part] = np.arange(start, start + len(unit))
        parts_co.append(np.array(centre) + unit * radii)
        faces += [[start + i for i in f] for f in unit_faces]
        face_mats += [mats.index(mat)] * len(unit_faces)
        start += len(unit)
    co = np.concatenate(parts_co)
    _shape_parts(co, ranges)
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(co.tolist(), [], faces)
    mesh.polygons.foreach_set("material_index", face_mats)
    mesh.shade_smooth()
    mesh.update()
    for mat in mats:
        color = palette.get(mat, MATERIALS[mat])
        mesh.materials.append(_material(f"{name} {mat}", color, ROUGHNESS.get(mat, 0.55)))
    return mesh, ranges, co


def _weights(co, ranges):
    """Vertex group name -> weights per vertex."""
    n = len(co)
    y, z = co[:, 1], co[:, 2]
    jaw = np.zeros(n)
    head = ranges["head"]
    jaw[head] = (np.clip((0.118 - z[head]) / 0.03, 0, 1) * np.clip((0.01 - y[head]) / 0.05, 0, 1))
    mouth = ranges["mouth"]
    jaw[mouth] = (z[mouth] < PARTS["mouth"][1][2]).astype(float)
    jaw[ranges["lip_lower"]] = 1.0
    jaw[ranges["tongue"]] = 1.0
    root = np.zeros(n)
    neck_part = ranges["neck"]
    root[neck_part] = np.clip((0.03 - z[neck_part]) / 0.06, 0, 1)
    root[ranges["torso"]] = 1.0
    groups = {"jaw": jaw, "root": root}
    neck = 1.0 - jaw - root
    for side in "LR":
        idx = np.concatenate([ranges[f"{p}_{side}"] for p in ("eye", "iris", "pupil")])
        w = np.zeros(n)
        w[idx] = 1.0
        neck[idx] = 0.0
        groups[f"eye_{side}"] = w
    groups["neck"] = np.clip(neck, 0, 1)
    return groups


def _shape_offsets(co, ranges, jaw):
    """Shape key name -> new vertex positions (n, 3)."""
    out = {}
    mouth = np.concatenate([ranges[p] for p in MOUTH_PARTS])
    cx, _, cz = PARTS["mouth"][1]
    m = co[mouth]
    k = co.copy()       # lower lip, mouth floor and chin drop: the dark mouth shows
    head = ranges["head"]
    k[head, 2] -= 0.011 * jaw[head]
    inner = ranges["mouth"]
    k[inner, 2] += np.where(co[inner, 2] < cz, -0.017, 0.002)
    k[ranges["lip_lower"], 2] -= 0.016
    k[ranges["lip_upper"], 2] += 0.003
    out["MouthOpen"] = k
    k = co.copy()       # wider, corners up
    side = np.abs(m[:, 0] - cx) / PARTS["lip_upper"][2][0]
    k[mouth, 0] = cx + (m[:, 0] - cx) * 1.15
    k[mouth, 2] += 0.013 * side ** 2
    k[mouth, 1] += 0.004 * side ** 2
    out["Smile"] = k
    k = co.copy()       # narrow, pushed out
    k[mouth, 0] = cx + (m[:, 0] - cx) * 0.6
    k[mouth, 1] -= 0.007
    k[mouth, 2] = cz + (m[:, 2] - cz) * 1.3
    out["Pucker"] = k
    brows = np.concatenate([ranges["brow_L"], ranges["brow_R"]])
    k = co.copy()
    k[brows, 2] += 0.013
    k[brows, 1] += _face_y(co[brows, 0], co[brows, 2] + 0.013) - _face_y(co[brows, 0], co[brows, 2])
    lids = np.concatenate([ranges["lid_L"], ranges["lid_R"]])
    edge = co[lids, 2] < PARTS["lid_L"][1][2] + LID_LINE + 1e-4
    k[lids, 2] += 0.003 * edge      # eyes wide open
    out["BrowUp"] = k
    k = co.copy()       # inner ends down and together
    inner_w = np.clip(1 - (np.abs(co[brows, 0]) - 0.014) / 0.04, 0, 1)
    k[brows, 2] -= 0.010 * inner_w
    k[brows, 0] *= 0.90
    k[brows, 1] -= 0.003 * inner_w
    out["BrowFrown"] = k
    k = co.copy()
    for s in "LR":
        idx = np.concatenate([ranges[f"{p}_{s}"] for p in ("eye", "iris", "pupil")])
        ez = PARTS[f"eye_{s}"][1][2]
        k[idx, 2] = ez + (co[idx, 2] - ez) * 0.08
        lid = ranges[f"lid_{s}"]
        k[lid, 2] = np.where(co[lid, 2] < ez + LID_LINE + 1e-4, ez, co[lid, 2])
    out["Blink"] = k
    return out


def _build_armature(name, collection, view_layer):
    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    collection.objects.link(obj)
    prev_active = view_layer.objects.active
    view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode='EDIT')
    try:
        for bone, (head, tail, parent) in BONES.items():
            eb = arm.edit_bones.new(bone)
            eb.head, eb.tail, eb.roll = head, tail, 0.0
            if parent:
                eb.parent = arm.edit_bones[parent]
    finally:
        bpy.ops.object.mode_set(mode='OBJECT')
        view_layer.objects.active = prev_active
    return obj


def build_demo_head(name: str, collection, view_layer, palette: dict | None = None):
    """A head: mesh ``name`` (shape keys, vertex groups) parented to armature ``name rig``.
    Its shape keys: SHAPE_KEYS, then the ARKit-named demo_face.ARKIT_KEYS.

    ``palette`` maps material names of MATERIALS ("Skin", "Hair", "Shirt", ...) to linear
    RGB colours; the materials are named "<name> <material>"."""
    rig = _build_armature(f"{name} rig", collection, view_layer)
    mesh, ranges, co = _build_mesh(name, palette or {})
    obj = bpy.data.objects.new(name, mesh)
    collection.objects.link(obj)
    groups = _weights(co, ranges)
    for group, w in groups.items():
        vg = obj.vertex_groups.new(name=group)
        for i in np.flatnonzero(w > 1e-4):
            vg.add([int(i)], float(w[i]), 'REPLACE')
    obj.shape_key_add(name="Basis", from_mix=False)
    shapes = _shape_offsets(co, ranges, groups["jaw"])
    shapes.update(arkit_shapes(co, ranges, groups["jaw"]))
    for key, new_co in shapes.items():
        kb = obj.shape_key_add(name=key, from_mix=False)
        kb.data.foreach_set("co", new_co.astype(np.float32).ravel())
        kb.value = 0.0      # 5.0 adds new keys at 1, 4.2 at 0: start at rest
    obj.parent = rig
    mod = obj.modifiers.new("Armature", 'ARMATURE')
    mod.object = rig
    return obj, rig
