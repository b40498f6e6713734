# SPDX-License-Identifier: GPL-3.0-or-later
"""Finding a preset's shape keys and bones under the names real characters give them.

Shape keys are compared in a *canonical* spelling: case-insensitive, word by word (Apple's
camelCase, ``snake_case``, ``dotted.names``), ``L``/``R``/``Left``/``Right`` moved to the
end, a ``Maya.`` namespace and the mesh-name prefixes ``Wolf3D_``, ``CC_Base_``, ``RPM_``
dropped. So ``mouthSmileLeft``, ``MouthSmile_L``, ``Mouth_Smile_L`` and
``blendShape1.mouthSmileLeft`` are one name. Spellings that differ in words (Character
Creator's ``Brow_Raise_Inner_L`` for ARKit's ``browInnerUp``, VRoid's ``Fcl_EYE_Close_L``,
VRChat's ``vrc.v_aa``) are aliases: the built-in ones below, plus a preset's ``aliases``.

Bones are matched case-insensitively, without an ``xxx:`` namespace (``mixamorig:Neck``),
against a list of candidates in order; among several bones of one candidate the deforming
one wins (Rigify's DEF-/ORG-/MCH- copies). Pure Python, no bpy."""
from __future__ import annotations

import functools
import re
from typing import Iterable

_PREFIXES = ("wolf3d_", "cc_base_", "rpm_")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_SIDES = {"l": "left", "left": "left", "r": "right", "right": "right"}


@functools.lru_cache(maxsize=8192)
def canonical(name: str) -> str:
    """The spelling-free form of a shape-key name: 'Mouth_Smile_L' -> 'mouthsmileleft'."""
    s = str(name).strip()
    head, dot, tail = s.rpartition(".")
    if dot and len(tail) > 1 and head:        # blendShape1.jawOpen, vrc.v_aa; not 'smile.L'
        s = tail
    low = s.lower()
    for prefix in _PREFIXES:
        if low.startswith(prefix) and len(s) > len(prefix):
            s = s[len(prefix):]
            break
    words = [w.lower() for part in re.split(r"[^A-Za-z0-9]+", s) for w in _WORDS.findall(part)]
    sides = [_SIDES[w] for w in words if w in _SIDES]
    rest = [w for w in words if w not in _SIDES]
    return "".join(rest + sides) if rest else "".join(words)


def _cc_arkit() -> dict[str, list[str]]:
    """Character Creator 4's ARKit-compatible names where the words differ from Apple's."""
    out = {
        "browInnerUp": ["Brow_Raise_Inner_L", "Brow_Raise_Inner_R"],
        "cheekPuff": ["Cheek_Puff_L", "Cheek_Puff_R"],
        "mouthRollLower": ["Mouth_Roll_In_Lower"], "mouthRollUpper": ["Mouth_Roll_In_Upper"],
    }
    for side, s in (("Left", "L"), ("Right", "R")):
        out[f"browDown{side}"] = [f"Brow_Drop_{s}"]
        out[f"browOuterUp{side}"] = [f"Brow_Raise_Outer_{s}"]
        out[f"cheekSquint{side}"] = [f"Cheek_Raise_{s}"]
        out[f"mouthLowerDown{side}"] = [f"Mouth_Down_Lower_{s}"]
        out[f"mouthUpperUp{side}"] = [f"Mouth_Up_Upper_{s}"]
        inward, outward = ("R", "L") if s == "L" else ("L", "R")
        out[f"eyeLookIn{side}"] = [f"Eye_{s}_Look_{inward}"]
        out[f"eyeLookOut{side}"] = [f"Eye_{s}_Look_{outward}"]
        out[f"eyeLookUp{side}"] = [f"Eye_{s}_Look_Up"]
        out[f"eyeLookDown{side}"] = [f"Eye_{s}_Look_Down"]
        out[f"eyeBlink{side}"] = [f"Fcl_EYE_Close_{s}", f"Blink_{s}"]      # VRoid, VRM 0.x
    return out


# Oculus visemes as Ready Player Me names its keys -> other spellings (VRChat, Oculus).
_VISEMES = {"sil": "sil", "PP": "PP", "FF": "FF", "TH": "TH", "DD": "DD", "kk": "kk",
            "CH": "CH", "SS": "SS", "nn": "nn", "RR": "RR", "aa": "aa", "E": "E",
            "I": "ih", "O": "oh", "U": "ou"}


def _visemes() -> dict[str, list[str]]:
    return {f"viseme_{rpm}": [f"viseme_{oculus}", f"vrc.v_{oculus.lower()}"]
            for rpm, oculus in _VISEMES.items()}


# VRoid's mouth shapes for VRM's five vowels, and their VRM 0.x / 1.0 expression names.
_VOWELS = {"A": "aa", "I": "ih", "U": "ou", "E": "ee", "O": "oh"}
VOWEL_ALIASES = {f"Fcl_MTH_{v}": [v, vrm1] for v, vrm1 in _VOWELS.items()}

BUILTIN_ALIASES: dict[str, list[str]] = {**_cc_arkit(), **_visemes(), **VOWEL_ALIASES}

# Neck and head bones of the common skeletons, most specific rigs last.
BONE_CANDIDATES = {
    "neck": ["neck", "neck_01", "neck01", "neck1", "CC_Base_NeckTwist01", "J_Bip_C_Neck",
             "DEF-spine.005", "ORG-spine.005", "MCH-spine.005", "spine.005"],
    "head": ["head", "CC_Base_Head", "J_Bip_C_Head", "DEF-spine.006", "ORG-spine.006",
             "MCH-spine.006", "spine.006"],
    "eye_L": ["eye_L", "eye.L", "LeftEye", "eye_left", "left_eye", "CC_Base_L_Eye",
              "J_Adj_L_FaceEye", "DEF-eye.L", "ORG-eye.L", "MCH-eye.L"],
    "eye_R": ["eye_R", "eye.R", "RightEye", "eye_right", "right_eye", "CC_Base_R_Eye",
              "J_Adj_R_FaceEye", "DEF-eye.R", "ORG-eye.R", "MCH-eye.R"],
}


def spellings(name: str, aliases: dict[str, list[str]] | None = None) -> set[str]:
    """The canonical spellings a target named ``name`` answers to."""
    names = [name] + BUILTIN_ALIASES.get(name, []) + list((aliases or {}).get(name, []))
    return {canonical(n) for n in names}


def match_keys(name: str, keys: Iterable[str], aliases: dict | None = None) -> list[str]:
    """The shape keys (of one mesh) that a target named ``name`` drives, in the mesh's order."""
    wanted = spellings(name, aliases)
    return [k for k in keys if canonical(k) in wanted]


def bone_key(name: str) -> str:
    """'mixamorig:Neck' -> 'neck'."""
    return str(name).rpartition(":")[2].strip().lower()


def match_bone(candidates: list[str], bones: dict[str, bool]) -> str | None:
    """The first candidate the armature has (``bones``: name -> deforms), case-insensitively
    and without a namespace; several bones of one candidate: the deforming one."""
    by_key: dict[str, list[str]] = {}
    for b in bones:
        by_key.setdefault(bone_key(b), []).append(b)
    for cand in candidates:
        found = by_key.get(bone_key(cand), [])
        if found:
            return next((b for b in found if bones[b]), found[0])
    return None
