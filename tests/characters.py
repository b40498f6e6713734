"""Real characters for the rig tests: import one into the current bpy scene and get its parts.

The characters are small glTF files built from freely licensed published characters
(tests/data/characters/README.md: sources, creators, licences, what each carries). Like the
real demo dialogue they live beside the checkout, in ``../shared/data/characters`` (or the
folder ``$TIMAR_CHARACTERS`` names), not in the repository; a test that needs one skips
with a message where it is absent (``character_path`` inside a test, or the
``character`` fixtures of the test modules).

    from characters import import_character
    ch = import_character("mpfb")          # into bpy.context.scene, in a collection of its own
    ch.armature, ch.meshes["MPFB_Teeth"], ch.shape_keys("MPFB_Teeth"), ch.bone_names()

Works with the glTF importer of the 4.2, 4.5, 5.0 and 5.2 bpy wheels (tests/blender).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from helpers import REPO

CHARACTERS_DIR = Path(os.environ.get("TIMAR_CHARACTERS")
                      or REPO.parent / "shared" / "data" / "characters")

# Short name -> file. ict: USC ICT's ICT-FaceKit face (meshes only, ``browDown_L`` spelling);
# mpfb: a MakeHuman/MPFB head with TalkingHead's ARKit + ``viseme_*`` targets on six meshes
# and a Mixamo (``mixamorig:``) skeleton.
CHARACTER_FILES = {"ict": "ict_facekit_head.glb", "mpfb": "mpfb_talkinghead_head.glb"}


def character_path(name: str) -> Path:
    """The character's file; skips the calling test when it is not there."""
    import pytest

    path = CHARACTERS_DIR / CHARACTER_FILES[name]
    if not path.is_file():
        pytest.skip(f"the test character {path.name} is not in {CHARACTERS_DIR} (build it with "
                    "tests/data/characters/build_characters.py, see the README there, or set "
                    "$TIMAR_CHARACTERS to the folder that holds it)")
    return path


@dataclass
class Character:
    """What one import brought into the scene. ``meshes`` is keyed by the names the file
    gives its meshes (a second import of the same file gets ``.001`` object names; the keys
    stay the file's names)."""
    name: str
    collection: object                       # bpy.types.Collection holding every object
    armature: object | None                  # bpy.types.Object of type ARMATURE, or None
    meshes: dict[str, object] = field(default_factory=dict)

    def keyed_meshes(self) -> dict[str, object]:
        """The meshes that carry shape keys."""
        return {n: o for n, o in self.meshes.items() if o.data.shape_keys is not None}

    def shape_keys(self, mesh: str) -> list[str]:
        """A mesh's shape-key names, the reference (Basis) key left out."""
        keys = self.meshes[mesh].data.shape_keys
        if keys is None:
            return []
        return [k.name for k in keys.key_blocks if k != keys.reference_key]

    def bone_names(self) -> list[str]:
        return [] if self.armature is None else [b.name for b in self.armature.data.bones]


def _file_name(obj) -> str:
    """The object's name without Blender's ``.001`` duplicate suffix."""
    base, dot, suffix = obj.name.rpartition(".")
    return base if dot and suffix.isdigit() and len(suffix) == 3 else obj.name


def import_character(name: str, collection: str | None = None) -> Character:
    """Import a test character into ``bpy.context.scene`` inside a new collection (named
    ``collection`` or after the character) and return its parts."""
    import bpy

    path = character_path(name)
    coll = bpy.data.collections.new(collection or name)
    bpy.context.scene.collection.children.link(coll)
    before = set(bpy.data.objects)
    # No display sphere for the bones (an importer extra, not part of the character) and,
    # where the importer can (4.4+), no extra collection of its own.
    options = {"disable_bone_shape": True}
    if "import_scene_as_collection" in bpy.ops.import_scene.gltf.get_rna_type().properties:
        options["import_scene_as_collection"] = False
    result = bpy.ops.import_scene.gltf(filepath=str(path), **options)
    if result != {'FINISHED'}:
        raise RuntimeError(f"the glTF importer refused {path}: {result}")
    new = [o for o in bpy.data.objects if o not in before]
    for obj in new:            # the importer links to the scene's own collection: move them
        for other in list(obj.users_collection):
            if other != coll:
                other.objects.unlink(obj)
        if coll not in obj.users_collection:
            coll.objects.link(obj)
    armatures = [o for o in new if o.type == 'ARMATURE']
    meshes = {_file_name(o): o for o in new if o.type == 'MESH'}
    return Character(name=name, collection=coll,
                     armature=armatures[0] if armatures else None, meshes=meshes)
