# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place that knows how actions differ between Blender versions.

4.2 has only ``action.fcurves``. 4.4+ has slotted (layered) actions: F-curves live in a
channel bag of a keyframe strip for one slot, and the ID must be given that slot; 5.0
removed ``action.fcurves``. Keys are written in bulk with ``foreach_set``."""
from __future__ import annotations

import bpy
import numpy as np

LINEAR = 1   # enum value of 'LINEAR' in FCurve keyframe interpolation


def is_slotted(action) -> bool:
    return hasattr(action, "layers")


def new_action(name: str, id_block):
    """A new action made for ``id_block`` (and its slot on 4.4+). Returns (action, slot)."""
    action = bpy.data.actions.new(name)
    slot = None
    if is_slotted(action):
        slot = action.slots.new(id_type=id_block.id_type, name=id_block.name)
        layer = action.layers.new("Layer")
        layer.strips.new(type='KEYFRAME')
    return action, slot


def action_fcurves(action):
    """The F-curve collection of an action made by ``new_action`` (first slot)."""
    if not is_slotted(action):
        return action.fcurves
    slot = action.slots[0]
    if not action.layers:
        action.layers.new("Layer")
    layer = action.layers[0]
    strip = layer.strips[0] if layer.strips else layer.strips.new(type='KEYFRAME')
    return strip.channelbag(slot, ensure=True).fcurves


def assign_action(id_block, action, slot=None):
    ad = id_block.animation_data or id_block.animation_data_create()
    ad.action = action
    if slot is not None and hasattr(ad, "action_slot"):
        ad.action_slot = slot


def push_down(id_block, mute: bool) -> str | None:
    """Move the ID's active action into a new NLA track (like Blender's Push Down);
    returns the track's name."""
    ad = id_block.animation_data
    if ad is None or ad.action is None:
        return None
    action = ad.action
    slot = getattr(ad, "action_slot", None)
    track = ad.nla_tracks.new()
    track.name = action.name
    start = int(np.floor(action.frame_range[0]))
    strip = track.strips.new(action.name, start, action)
    if slot is not None and hasattr(strip, "action_slot"):
        strip.action_slot = slot
    track.mute = mute
    ad.action = None
    return track.name


def pop_up(id_block, track_name: str) -> None:
    """Undo :func:`push_down`: make the track's action active again (same slot), drop the track."""
    ad = id_block.animation_data
    track = ad.nla_tracks.get(track_name) if ad is not None else None
    if track is None or not len(track.strips):
        return
    strip = track.strips[0]
    action, slot = strip.action, getattr(strip, "action_slot", None)
    ad.nla_tracks.remove(track)
    assign_action(id_block, action, slot)


def write_keys(fcurves, data_path: str, index: int, frames: np.ndarray,
               values: np.ndarray, keep: int = 0) -> None:
    """Set the F-curve (created if needed) to exactly these keys.

    Bulk ``foreach_set`` of all keys, except when ``keep`` > 0: the caller promises the
    first ``keep`` keys are already right, and only the tail is written key by key (the
    turn-by-turn path, so a long take does not rewrite everything each second)."""
    fc = fcurves.find(data_path, index=index)
    if fc is None:
        fc = fcurves.new(data_path, index=index)
    kp = fc.keyframe_points
    n = len(frames)
    have = len(kp)
    if have < n:
        kp.add(n - have)
    elif have > n:
        for _ in range(have - n):
            kp.remove(kp[len(kp) - 1], fast=True)
    if 0 < keep <= min(have, n) and n - keep < 256:
        for i in range(keep, n):
            k = kp[i]
            k.co = (float(frames[i]), float(values[i]))
            k.interpolation = 'LINEAR'
    else:
        co = np.empty(2 * n, dtype=np.float32)
        co[0::2] = frames
        co[1::2] = values
        kp.foreach_set("co", co)
        kp.foreach_set("interpolation", np.full(n, LINEAR, dtype=np.int32))
    fc.update()


def read_keys(fcurves, data_path: str, index: int = 0):
    """(frames, values) of an F-curve, or None where it does not exist (tests, tools)."""
    fc = fcurves.find(data_path, index=index)
    if fc is None:
        return None
    co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co[0::2], co[1::2]
