# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing a take: FLAME motion (T, 56) at 25 fps -> new actions on a head, through the
targets its preset resolved to (head.py). Used by the Generate operator (turn by turn) and
by batch scripts (whole takes). The last step of the rig/ flow: it only writes keys."""
from __future__ import annotations

import re
from dataclasses import dataclass

import bpy
import numpy as np

from ..errors import RigError
from . import fcurves, motion as flame_motion
from .head import HeadRig, resolve_head
from .preset import Preset, get_preset
from .targets import bone_quaternions, shape_values


_TAKE_RE = r"^{} take (\d+)(?: shapes)?$"


def next_take_number(head_name: str) -> int:
    pattern = re.compile(_TAKE_RE.format(re.escape(head_name)))
    nums = [int(m.group(1)) for a in bpy.data.actions if (m := pattern.match(a.name))]
    return max(nums, default=0) + 1


def scene_fps(scene) -> float:
    return scene.render.fps / scene.render.fps_base


@dataclass
class TakeSettings:
    intensity_exp: float = 1.0
    intensity_jaw: float = 1.0
    intensity_head: float = 1.0
    smoothing: float = 0.0      # Gaussian sigma in 25 fps frames
    blinks: bool = True         # procedural blinks and saccades where the rig has them
    seed: int = 0


class TakeWriter:
    """A take being written: new actions made at once, keys (re)written as motion arrives.

    Objects and actions are looked up by name at each write, so an undo or a deleted head
    mid-generation ends the take instead of touching freed memory."""

    def __init__(self, scene, rig: HeadRig, preset: Preset, start_frame: int,
                 take_name: str | None = None, settings: TakeSettings | None = None):
        self.scene_name = scene.name
        self.preset = preset
        self.start_frame = int(start_frame)
        self.settings = settings or TakeSettings()
        self.fps = scene_fps(scene)
        self.take_name = take_name or f"{rig.head.name} take {next_take_number(rig.head.name)}"
        self.motion = np.zeros((0, flame_motion.MOTION_DIM), dtype=np.float32)
        self._written = 0          # scene frames already written (all channels)
        self._procedural: dict = {}
        self._undo: list = []      # ((kind, name), had animation data, NLA track) per action
        self.mesh_name = self.arm_name = None
        self.key_action = self.arm_action = None
        self.targets = rig.targets
        key = rig.mesh.data.shape_keys if rig.mesh else None
        self.shape_names = self.targets.shape_names
        self.blink_names = list(self.targets.blink_keys) if self.settings.blinks else []
        self.bone_names = self.targets.bone_names
        self.eye_names = list(self.targets.eye_bones) if self.settings.blinks else []
        if self.shape_names or self.blink_names:
            self.mesh_name = rig.mesh.name
            self.key_action = self._make_action(key, f"{self.take_name} shapes")
            for name in self.shape_names:
                self._widen_slider(key.key_blocks[name])
        if self.bone_names or self.eye_names:
            self.arm_name = rig.armature.name
            self.arm_action = self._make_action(rig.armature, self.take_name)
            for name in self.bone_names + self.eye_names:
                rig.armature.pose.bones[name].rotation_mode = 'QUATERNION'

    def _make_action(self, id_block, name):
        action, slot = fcurves.new_action(name, id_block)
        action["timar_take"] = self.take_name
        ad = id_block.animation_data
        track = None
        if ad is not None and ad.action is not None:
            track = fcurves.push_down(id_block, mute="timar_take" in ad.action)
        # by name, never the ID itself (an undo may free it): the mesh's shape keys or the armature
        owner = ("key", self.mesh_name) if id_block.id_type == 'KEY' else ("object", self.arm_name)
        self._undo.append((owner, ad is not None, track))
        fcurves.assign_action(id_block, action, slot)
        return action.name

    def discard(self) -> None:
        """Undo this take: remove its actions and give each ID back the action (and slot)
        that was active before, taken out of the NLA track it was pushed down to."""
        for (kind, name), had_anim, track in reversed(self._undo):
            obj = bpy.data.objects.get(name)
            id_block = obj.data.shape_keys if obj is not None and kind == "key" else obj
            if id_block is None:
                continue
            ad = id_block.animation_data
            if ad is not None:
                ad.action = None
                if track is not None:
                    fcurves.pop_up(id_block, track)
                elif not had_anim:
                    id_block.animation_data_clear()
        self._undo.clear()
        for name in self.action_names:
            action = bpy.data.actions.get(name)
            if action is not None:
                bpy.data.actions.remove(action)
        self.key_action = self.arm_action = None

    def _widen_slider(self, kb):
        rng = self.targets.slider_range
        if rng:
            kb.slider_min = min(kb.slider_min, rng[0])
            kb.slider_max = max(kb.slider_max, rng[1])

    def append(self, motion) -> None:
        """Add frames (n, 56) at 25 fps and rewrite the keys of the whole take."""
        chunk = flame_motion.check_motion(motion)
        self.motion = np.concatenate([self.motion, chunk], axis=0)
        self.write()

    def channel_values(self):
        """(frames, shape values, bone quaternions) for the motion received so far."""
        s = self.settings
        m = flame_motion.prepare_motion(self.motion, s.intensity_exp, s.intensity_jaw,
                                        s.intensity_head, s.smoothing)
        m = flame_motion.resample(m, self.fps)
        frames = self.start_frame + np.arange(len(m), dtype=np.float32)
        shapes = shape_values(self.targets, m)
        bones = bone_quaternions(self.targets, m)
        if self.blink_names:
            blink = self._curve("blink", len(m))
            for name in self.blink_names:
                shapes[name] = blink
        if self.eye_names:
            gaze = self._curve("gaze", len(m))
            for name in self.eye_names:
                bones[name] = gaze
        return frames, shapes, bones

    def _curve(self, kind: str, n: int) -> np.ndarray:
        """Blinks or gaze for n frames; made for a longer span and sliced (they are
        prefix-stable), so a take growing turn by turn does not recompute them."""
        have = self._procedural.get(kind)
        if have is None or len(have) < n:
            span = max(n, 2 * (len(have) if have is not None else 0), int(self.fps * 30))
            seed = self.settings.seed
            have = (flame_motion.blink_curve(span, self.fps, seed) if kind == "blink" else
                    flame_motion.gaze_quaternions(flame_motion.saccade_curve(span, self.fps, seed)))
            self._procedural[kind] = have
        return have[:n]

    def _stable_prefix(self) -> int:
        """Scene frames written before that new motion cannot change: smoothing reaches
        back 3 sigma, interpolation one model frame."""
        reach = int(np.ceil(3 * self.settings.smoothing)) + 2
        return max(0, self._written - int(np.ceil(reach * self.fps / flame_motion.MODEL_FPS)) - 1)

    def write(self) -> None:
        if len(self.motion) == 0:
            return
        frames, shapes, bones = self.channel_values()
        keep = self._stable_prefix()
        if self.key_action:
            fcs = self._fcurves(self.key_action)
            for name in self.shape_names + self.blink_names:
                fcurves.write_keys(fcs, f'key_blocks["{name}"].value', 0, frames,
                                   shapes[name], keep)
        if self.arm_action:
            fcs = self._fcurves(self.arm_action)
            for name in self.bone_names + self.eye_names:
                path = f'pose.bones["{name}"].rotation_quaternion'
                q = bones[name]
                for i in range(4):
                    fcurves.write_keys(fcs, path, i, frames, q[:, i], keep)
        self._written = len(frames)
        scene = bpy.data.scenes.get(self.scene_name)
        if scene is not None and scene.frame_end < frames[-1]:
            scene.frame_end = int(np.ceil(frames[-1]))

    def _fcurves(self, action_name):
        action = bpy.data.actions.get(action_name)
        if action is None:
            raise RigError(f"the action '{action_name}' was removed while it was written")
        return fcurves.action_fcurves(action)

    @property
    def action_names(self) -> list[str]:
        return [n for n in (self.arm_action, self.key_action) if n]


def write_take(head, motion, preset: Preset | str, start_frame: int = 1, take_name: str | None = None,
               intensity_exp: float = 1.0, intensity_jaw: float = 1.0,
               intensity_head: float = 1.0, smoothing: float = 0.0, blinks: bool = True,
               seed: int = 0, scene=None) -> TakeWriter:
    """Write a whole take (motion (T, 56) at 25 fps) onto ``head`` as new actions.

    Raises RigError (head does not fit) or ValueError (bad motion) before changing anything.
    ``preset`` is a Preset or the key of a shipped one ("flame", "timar_demo", "arkit").
    The previous active actions are pushed down to NLA tracks, never modified."""
    if isinstance(preset, str):
        preset = get_preset(preset)
    scene = scene or bpy.context.scene
    motion = flame_motion.check_motion(motion)
    rig = resolve_head(head, preset)
    settings = TakeSettings(intensity_exp, intensity_jaw, intensity_head, smoothing, blinks, seed)
    writer = TakeWriter(scene, rig, preset, start_frame, take_name, settings)
    writer.append(motion)
    return writer
