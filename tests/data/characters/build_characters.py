# SPDX-License-Identifier: GPL-3.0-or-later
"""Builds the two small test characters (README.md here) from their published sources.

    .venv/bin/python tests/data/characters/build_characters.py \\
        --ict ICT-FaceKit --mpfb mpfb2 --talkinghead TalkingHead --out ../shared/data/characters

Each argument is a folder holding that repository's files at the commit README.md names
(only the paths read below are needed). The script keeps the characters' own data (vertex
positions, faces, expression shapes, bones, skin weights) and leaves out what tests do not
need to stay under 3 MB a file: textures, UVs, materials, the morph-target normals, the body
below the neck, and expression offsets under 0.2 mm (so the glTF exporter writes sparse
targets). Shape-key and bone names are written exactly as their creators spelled them:
they are the point of the test data.

Run it with any bpy wheel (tested with Blender 5.0's); it clears the current scene.
"""
from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

import bpy
import numpy as np

# Offsets smaller than this (m) are dropped: under 0.2 mm nothing visible moves, and the
# exporter then stores each target as the few vertices it really moves.
MIN_OFFSET_M = 2e-4


# -- reading ---------------------------------------------------------------------------------

def read_obj(path: Path) -> tuple[np.ndarray, list[tuple[str, list[int]]]]:
    """An OBJ's vertices (N, 3) and faces as (group name, 0-based vertex indices)."""
    verts, faces, group = [], [], ""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("f "):
                faces.append((group, [int(tok.split("/")[0]) - 1 for tok in line.split()[1:]]))
            elif line.startswith("g "):
                group = line.split(maxsplit=1)[1].strip()
    return np.asarray(verts, dtype=np.float64), faces


def read_obj_vertices(path: Path) -> np.ndarray:
    return read_obj(path)[0]


def y_up_to_blender(points: np.ndarray, metres_per_unit: float) -> np.ndarray:
    """OBJ/MakeHuman (x, y up, z forward) -> Blender (x, -z, y), in metres."""
    p = np.asarray(points, dtype=np.float64) * metres_per_unit
    return np.stack([p[:, 0], -p[:, 2], p[:, 1]], axis=1)


def sparse(deltas: np.ndarray) -> np.ndarray:
    out = deltas.copy()
    out[np.abs(deltas).max(axis=1) < MIN_OFFSET_M] = 0.0
    return out


# -- writing ---------------------------------------------------------------------------------

def add_mesh(name: str, verts: np.ndarray, faces: list[list[int]],
             keys: dict[str, np.ndarray]) -> bpy.types.Object:
    """A mesh object with a Basis and one shape key per entry of ``keys`` that moves it."""
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts.tolist(), [], faces)
    # Smooth shading: flat faces would split every vertex per corner in the glTF (4x size).
    mesh.polygons.foreach_set("use_smooth", [True] * len(mesh.polygons))
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    moving = {k: d for k, d in keys.items() if np.any(d)}
    if moving:
        obj.shape_key_add(name="Basis", from_mix=False)
        for key_name, delta in moving.items():
            key = obj.shape_key_add(name=key_name, from_mix=False)
            key.data.foreach_set("co", (verts + delta).astype(np.float32).ravel())
            key.value = 0.0     # Blender 5 adds a key at 1: every key would be exported on
    return obj


def sub_mesh(verts: np.ndarray, faces: list[list[int]], keep: np.ndarray):
    """The part of a mesh whose faces lie wholly on ``keep`` vertices, renumbered."""
    index = np.full(len(verts), -1, dtype=np.int64)
    index[keep] = np.arange(len(keep))
    kept_faces = [[int(index[v]) for v in f] for f in faces if all(index[v] >= 0 for v in f)]
    return verts[keep], kept_faces


def export_glb(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.export_scene.gltf(
        filepath=str(path), export_format="GLB", export_materials="NONE",
        export_texcoords=False, export_morph_normal=False, export_try_sparse_sk=True,
        export_animations=False, export_skins=True, export_yup=True)


def clear_scene() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)


# -- ICT-FaceKit: Face Model Light, its 53 expressions (``browDown_L`` spelling) ------------------

# (name, first vertex, end vertex, first polygon, end polygon) from ICT-FaceKit's README table.
ICT_PARTS = (("Face", 0, 9409, 0, 9230),
             ("GumsTongue", 14062, 17039, 14034, 17006),
             ("Teeth", 17039, 21451, 17006, 21496),
             ("EyeballLeft", 21451, 23021, 21496, 23094),
             ("EyeballRight", 23021, 24591, 23094, 24692))


def build_ict(root: Path, out: Path) -> None:
    clear_scene()
    model = root / "FaceXModel"
    names = json.loads((model / "vertex_indices.json").read_text())["expressions"]
    neutral_raw, faces = read_obj(model / "generic_neutral_mesh.obj")
    neutral = y_up_to_blender(neutral_raw, 0.01)          # ICT units are centimetres
    deltas = {n: sparse(y_up_to_blender(read_obj_vertices(model / f"{n}.obj"), 0.01) - neutral)
              for n in names}
    for part, v0, v1, p0, p1 in ICT_PARTS:
        part_faces = [[v - v0 for v in f] for _, f in faces[p0:p1]]
        add_mesh(part, neutral[v0:v1], part_faces, {n: d[v0:v1] for n, d in deltas.items()})
    export_glb(out / "ict_facekit_head.glb")


# -- MPFB (MakeHuman) head with TalkingHead's ARKit + Oculus targets, Mixamo skeleton ----------

MPFB_BONES = ("mixamorig:Hips", "mixamorig:Spine", "mixamorig:Spine1", "mixamorig:Spine2",
              "mixamorig:Neck", "mixamorig:Head")
# Mesh name -> the base mesh's OBJ groups it is made of ("body" is cut at the neck).
MPFB_MESHES = {"MPFB_Head": ("body",),
               "MPFB_Teeth": ("helper-upper-teeth", "helper-lower-teeth"),
               "MPFB_Tongue": ("helper-tongue",),
               "MPFB_EyeLeft": ("helper-l-eye",),
               "MPFB_EyeRight": ("helper-r-eye",),
               "MPFB_Eyelashes": ("helper-l-eyelashes-1", "helper-l-eyelashes-2",
                                  "helper-r-eyelashes-1", "helper-r-eyelashes-2")}


def read_target(text: str, n_verts: int) -> np.ndarray:
    """A MakeHuman .target (lines ``index dx dy dz``) -> (n_verts, 3) offsets, OBJ frame."""
    delta = np.zeros((n_verts, 3))
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0].isdigit():
            delta[int(parts[0])] = [float(x) for x in parts[1:]]
    return delta


def joint_position(spec: dict, verts: np.ndarray, groups: dict[str, list[int]]) -> np.ndarray:
    """A bone end from an MPFB rig file's strategy, on the (Blender-frame) base mesh."""
    if spec["strategy"] == "CUBE":
        return verts[groups[spec["cube_name"]]].mean(axis=0)
    if spec["strategy"] == "VERTEX":
        return verts[spec["vertex_index"]]
    return verts[spec["vertex_indices"]].mean(axis=0)          # MEAN


def build_mpfb(mpfb: Path, talkinghead: Path, out: Path) -> None:
    clear_scene()
    data = mpfb / "src" / "mpfb" / "data"
    raw, faces = read_obj(data / "3dobjs" / "base.obj")
    verts = y_up_to_blender(raw, 0.1)                           # MakeHuman units are decimetres
    groups: dict[str, set[int]] = {}
    for group, f in faces:
        groups.setdefault(group, set()).update(f)
    group_lists = {g: sorted(v) for g, v in groups.items()}
    rig = json.loads((data / "rigs" / "standard" / "rig.mixamo.json").read_text())["bones"]
    weights = json.loads((data / "rigs" / "standard" / "weights.mixamo.json").read_text())["weights"]
    # Stand the head where MPFB puts it (feet on the floor): match the rig's default Head.
    lift = np.asarray(rig["mixamorig:Head"]["head"]["default_position"]) \
        - joint_position(rig["mixamorig:Head"]["head"], verts, group_lists)
    verts = verts + lift

    with zipfile.ZipFile(talkinghead / "blender" / "MPFB" / "talkinghead-targets.zip") as z:
        targets = {Path(n).stem: z.read(n).decode() for n in sorted(z.namelist())
                   if n.endswith(".target") and not Path(n).name.startswith("._")}
    keys = {name: sparse(y_up_to_blender(read_target(text, len(verts)), 0.1))
            for name, text in targets.items()}

    arm_data = bpy.data.armatures.new("Armature")
    arm = bpy.data.objects.new("Armature", arm_data)
    bpy.context.scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    for name in MPFB_BONES:
        bone = arm_data.edit_bones.new(name)
        bone.head = joint_position(rig[name]["head"], verts - lift, group_lists) + lift
        bone.tail = joint_position(rig[name]["tail"], verts - lift, group_lists) + lift
        bone.roll = float(rig[name].get("roll", 0.0))
        if rig[name]["parent"]:
            bone.parent = arm_data.edit_bones[rig[name]["parent"]]
    bpy.ops.object.mode_set(mode="OBJECT")

    bone_weight = {b: np.zeros(len(verts)) for b in MPFB_BONES}
    for b in MPFB_BONES:
        for v, w in weights.get(b, []):
            bone_weight[b][v] = w
    head_neck = bone_weight["mixamorig:Head"] + bone_weight["mixamorig:Neck"] > 0
    for mesh_name, mesh_groups in MPFB_MESHES.items():
        members = sorted(set().union(*(groups[g] for g in mesh_groups)))
        keep = np.asarray([v for v in members if mesh_name != "MPFB_Head" or head_neck[v]])
        part_faces = [f for g, f in faces if g in mesh_groups]
        part_verts, part_faces = sub_mesh(verts, part_faces, keep)
        obj = add_mesh(mesh_name, part_verts, part_faces, {n: d[keep] for n, d in keys.items()})
        total = sum(bone_weight[b][keep] for b in MPFB_BONES)
        for b in MPFB_BONES:
            w = np.where(total > 0, bone_weight[b][keep] / np.maximum(total, 1e-9),
                         1.0 if b == "mixamorig:Head" else 0.0)
            group = obj.vertex_groups.new(name=b)
            for i in np.nonzero(w)[0]:
                group.add([int(i)], float(w[i]), "REPLACE")
        obj.parent = arm
        obj.modifiers.new("Armature", "ARMATURE").object = arm
    export_glb(out / "mpfb_talkinghead_head.glb")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ict", type=Path, required=True, help="ICT-FaceKit checkout")
    p.add_argument("--mpfb", type=Path, required=True, help="makehumancommunity/mpfb2 checkout")
    p.add_argument("--talkinghead", type=Path, required=True, help="met4citizen/TalkingHead checkout")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    build_ict(args.ict, args.out)
    build_mpfb(args.mpfb, args.talkinghead, args.out)
    for glb in sorted(args.out.glob("*.glb")):
        print(f"{glb}: {glb.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
