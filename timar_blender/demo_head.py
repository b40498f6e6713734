# SPDX-License-Identifier: GPL-3.0-or-later
"""A procedural cartoon head for the TIMAR demo preset: built from spheres in a few
milliseconds, no binary assets. Local frame: the face looks along -Y, +Z is up, so a bone
pointing up with no roll has the FLAME axes (+X subject's left, +Y up, +Z out of the face)."""
from __future__ import annotations

import bmesh
import bpy
import numpy as np
from mathutils import Matrix

# name: (head, tail, parent); all bones point up (+Z) with zero roll.
BONES = {
    "root": ((0, 0, -0.06), (0, 0, 0.0), None),
    "neck": ((0, 0, 0.04), (0, 0, 0.12), "root"),
    "jaw": ((0, -0.005, 0.135), (0, -0.005, 0.16), "neck"),
    "eye_L": ((0.033, -0.074, 0.172), (0.033, -0.074, 0.19), "neck"),
    "eye_R": ((-0.033, -0.074, 0.172), (-0.033, -0.074, 0.19), "neck"),
}
SHAPE_KEYS = ("MouthOpen", "Smile", "Pucker", "BrowUp", "BrowFrown", "Blink")
MATERIALS = {"Skin": (0.80, 0.58, 0.47), "Dark": (0.06, 0.03, 0.03),
             "White": (0.92, 0.92, 0.90), "Brow": (0.22, 0.13, 0.08)}

# part: (material, centre, radii, segments)
PARTS = {
    "head": ("Skin", (0, 0, 0.15), (0.085, 0.095, 0.115), (32, 20)),
    "neck": ("Skin", (0, 0.005, 0.01), (0.042, 0.042, 0.07), (16, 8)),
    "nose": ("Skin", (0, -0.098, 0.148), (0.013, 0.016, 0.02), (12, 8)),
    "mouth": ("Dark", (0, -0.086, 0.103), (0.028, 0.012, 0.007), (16, 8)),
    "eye_L": ("White", (0.033, -0.074, 0.172), (0.016, 0.016, 0.016), (16, 8)),
    "eye_R": ("White", (-0.033, -0.074, 0.172), (0.016, 0.016, 0.016), (16, 8)),
    "pupil_L": ("Dark", (0.033, -0.089, 0.172), (0.007, 0.004, 0.007), (10, 6)),
    "pupil_R": ("Dark", (-0.033, -0.089, 0.172), (0.007, 0.004, 0.007), (10, 6)),
    "brow_L": ("Brow", (0.034, -0.083, 0.203), (0.018, 0.006, 0.004), (10, 6)),
    "brow_R": ("Brow", (-0.034, -0.083, 0.203), (0.018, 0.006, 0.004), (10, 6)),
}


def _material(name, color):
    full = f"TIMAR {name}"
    mat = bpy.data.materials.get(full)
    if mat is None:
        mat = bpy.data.materials.new(full)
        mat.diffuse_color = (*color, 1.0)
        if bpy.app.version < (5, 0, 0) and not mat.use_nodes:
            mat.use_nodes = True    # always on from 5.0 (the property is deprecated)
        bsdf = mat.node_tree.nodes.get("Principled BSDF") if mat.node_tree else None
        if bsdf is not None:
            bsdf.inputs["Base Color"].default_value = (*color, 1.0)
            bsdf.inputs["Roughness"].default_value = 0.6
    return mat


def _build_mesh(name):
    """The mesh and, per part, the indices of its vertices."""
    bm = bmesh.new()
    mats = list(MATERIALS)
    ranges = {}
    for part, (mat, centre, radii, (u, v)) in PARTS.items():
        start = len(bm.verts)
        m = Matrix.Translation(centre) @ Matrix.Diagonal((*radii, 1.0))
        res = bmesh.ops.create_uvsphere(bm, u_segments=u, v_segments=v, radius=1.0, matrix=m)
        bm.verts.ensure_lookup_table()
        ranges[part] = np.arange(start, len(bm.verts))
        index = mats.index(mat)
        for f in {f for vert in res["verts"] for f in vert.link_faces}:
            f.material_index = index
            f.smooth = True
    mesh = bpy.data.meshes.new(name)
    bm.to_mesh(mesh)
    bm.free()
    for mat in mats:
        mesh.materials.append(_material(mat, MATERIALS[mat]))
    return mesh, ranges


def _weights(co, ranges):
    """Vertex group name -> (indices, weights)."""
    n = len(co)
    x, y, z = co[:, 0], co[:, 1], co[:, 2]
    jaw = np.zeros(n)
    head = ranges["head"]
    jaw[head] = (np.clip((0.118 - z[head]) / 0.03, 0, 1) * np.clip((0.01 - y[head]) / 0.05, 0, 1))
    mouth = ranges["mouth"]
    jaw[mouth] = (z[mouth] < 0.103).astype(float)
    neck_part = ranges["neck"]
    root = np.zeros(n)
    root[neck_part] = np.clip((0.03 - z[neck_part]) / 0.06, 0, 1)
    groups = {"jaw": jaw, "root": root}
    eyes = {"eye_L": np.concatenate([ranges["eye_L"], ranges["pupil_L"]]),
            "eye_R": np.concatenate([ranges["eye_R"], ranges["pupil_R"]])}
    neck = 1.0 - jaw - root
    for bone, idx in eyes.items():
        w = np.zeros(n)
        w[idx] = 1.0
        neck[idx] = 0.0
        groups[bone] = w
    groups["neck"] = np.clip(neck, 0, 1)
    return groups


def _shape_offsets(co, ranges):
    """Shape key name -> new vertex positions (n, 3)."""
    out = {}
    mouth, m = ranges["mouth"], co[ranges["mouth"]]
    c = np.array(PARTS["mouth"][1])
    k = co.copy()
    k[mouth, 2] += np.where(m[:, 2] < c[2], -0.016, 0.003)
    out["MouthOpen"] = k
    k = co.copy()
    side = np.abs(m[:, 0] - c[0]) / PARTS["mouth"][2][0]
    k[mouth, 0] = c[0] + (m[:, 0] - c[0]) * 1.15
    k[mouth, 2] += 0.009 * side ** 2
    out["Smile"] = k
    k = co.copy()
    k[mouth, 0] = c[0] + (m[:, 0] - c[0]) * 0.55
    k[mouth, 1] -= 0.006
    k[mouth, 2] = c[2] + (m[:, 2] - c[2]) * 1.4
    out["Pucker"] = k
    brows = np.concatenate([ranges["brow_L"], ranges["brow_R"]])
    k = co.copy()
    k[brows, 2] += 0.012
    out["BrowUp"] = k
    k = co.copy()
    inner = np.clip(1 - np.abs(co[brows, 0]) / 0.05, 0, 1)
    k[brows, 2] -= 0.008 * inner
    k[brows, 0] *= 0.92
    out["BrowFrown"] = k
    k = co.copy()
    for side_ in "LR":
        idx = np.concatenate([ranges[f"eye_{side_}"], ranges[f"pupil_{side_}"]])
        cz = PARTS[f"eye_{side_}"][1][2]
        k[idx, 2] = cz + (co[idx, 2] - cz) * 0.08
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


def build_demo_head(name: str, collection, view_layer):
    """A head: mesh ``name`` (shape keys, vertex groups) parented to armature ``name rig``."""
    rig = _build_armature(f"{name} rig", collection, view_layer)
    mesh, ranges = _build_mesh(name)
    obj = bpy.data.objects.new(name, mesh)
    collection.objects.link(obj)
    co = np.empty(3 * len(mesh.vertices), dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3).astype(np.float64)
    for group, w in _weights(co, ranges).items():
        vg = obj.vertex_groups.new(name=group)
        for i in np.flatnonzero(w > 1e-4):
            vg.add([int(i)], float(w[i]), 'REPLACE')
    obj.shape_key_add(name="Basis", from_mix=False)
    for key, new_co in _shape_offsets(co, ranges).items():
        kb = obj.shape_key_add(name=key, from_mix=False)
        kb.data.foreach_set("co", new_co.astype(np.float32).ravel())
    obj.parent = rig
    mod = obj.modifiers.new("Armature", 'ARMATURE')
    mod.object = rig
    return obj, rig
