# SPDX-License-Identifier: GPL-3.0-or-later
"""The panel's preview of a speaker's rig: what its preset matches on the picked head
before Generate (rig/report.py's summary and warnings), or why it does not fit. Cached per
head, preset and shape-key count, since the panel redraws often."""
from __future__ import annotations

import bpy

from .core import TimarError
from .rig.head import character_parts, resolve_head
from .rig.preset import get_preset
from .rig.report import report_head

_cache: dict = {}


def _fingerprint(sp) -> tuple:
    try:
        meshes, armature = character_parts(sp.head)
    except TimarError:
        return (sp.head.name,)
    keys = sum(len(m.data.shape_keys.key_blocks) for m in meshes if m.data.shape_keys)
    bones = len(armature.data.bones) if armature else 0
    return (sp.head.name, sp.preset, sp.mapping_file, len(meshes), keys, bones)


def preview(sp) -> tuple[str, list[str], list[str]]:
    """('ok' | 'error', lines, warnings) for a speaker's head and preset."""
    if sp.head is None:
        return "none", [], []
    key = _fingerprint(sp)
    if key not in _cache:
        try:
            preset = get_preset(sp.preset, bpy.path.abspath(sp.mapping_file))
            report = report_head(resolve_head(sp.head, preset), preset)
            lines = report["summary"].split(": ", 1)[-1].split("; ")
            _cache[key] = ("ok", lines, report["warnings"])
        except TimarError as exc:
            _cache[key] = ("error", [str(exc)], [])
        if len(_cache) > 64:
            _cache.pop(next(iter(_cache)))
    return _cache[key]
