# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing a take: FLAME motion (T, 56) and face frames (T, 67) at 25 fps -> new actions on
every mesh and the armature of a head, through the targets its preset resolved to (head.py). Used by the Generate operator (turn by turn) and
by batch scripts (whole takes). The last step of the rig/ flow: it only writes keys."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

import bpy
import numpy as np

from ..errors import RigError
from . import channels, fcurves, gaze, motion as flame_motion
from .dials import Dials
from .head import HeadRig, resolve_head
from .preset import Preset, get_preset
from .report import report_head
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
    intensity_exp: float = 1.0  # the expression dial: brows, nose, squints, FLAME expressions
    intensity_jaw: float = 1.0
    intensity_head: float = 1.0
    smoothing: float = 0.0      # Gaussian sigma in 25 fps frames
    blinks: bool = True         # procedural blinks and gaze where the rig has them
    seed: int = 0
    intensity_lips: float = 1.0
    intensity_eyes: float = 1.0     # gaze movement (look-aways, saccades) and model eye channels
    look_at: tuple[float, float] = (0.0, 0.0)   # (yaw, pitch) to the partner's head

    def dials(self) -> Dials:
        return Dials(jaw=self.intensity_jaw, lips=self.intensity_lips,
                     expression=self.intensity_exp, head=self.intensity_head,
                     eyes=self.intensity_eyes)

    def with_dials(self, dials: Dials) -> "TakeSettings":
        return replace(self, intensity_jaw=dials.jaw, intensity_lips=dials.lips,
                       intensity_exp=dials.expression, intensity_head=dials.head,
                       intensity_eyes=dials.eyes)


class TakeWriter:
    """A take being written: new actions made at once (one per driven mesh's shape keys,
    one for the armature), keys (re)written as motion arrives.

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
        self.face = np.zeros((0, channels.FACE_DIM), dtype=np.float32)
        self._written = 0          # scene frames already written (all channels)
        self._procedural: dict = {}
        self._undo: list = []      # ((kind, name), had animation data, NLA track) per action
        self.arm_name = None
        self.key_actions: dict[str, str] = {}      # mesh name -> its shape-key action
        self.arm_action = None
        self.targets = rig.targets
        self.rig_report = report_head(rig, preset)
        procedural = self.settings.blinks
        blink = set(self.targets.blink_keys) if procedural else set()
        self.shape_names = self.targets.shape_names
        self.blink_names = [n for n in self.targets.blink_keys
                            if procedural and n not in self.shape_names]
        self.look_names = list(self.targets.look_keys) if procedural else []
        self.bone_names = self.targets.bone_names
        self.eye_names = list(self.targets.eye_bones) if procedural else []
        driven = set(self.shape_names) | blink
        self.bindings = {b.mesh: [(t, k) for t, k in b.keys if t in driven]
                         for b in self.targets.meshes}
        self.bindings = {m: keys for m, keys in self.bindings.items() if keys}
        self.mesh_name = rig.mesh.name if rig.mesh is not None and rig.mesh.name in self.bindings \
            else next(iter(self.bindings), None)
        for mesh_name in sorted(self.bindings, key=lambda m: m != self.mesh_name):
            obj = bpy.data.objects[mesh_name]
            key = obj.data.shape_keys
            suffix = "" if mesh_name == self.mesh_name else f" ({mesh_name})"
            self.key_actions[mesh_name] = self._make_action(
                key, f"{self.take_name} shapes{suffix}", ("key", mesh_name))
            for target, key_name in self.bindings[mesh_name]:
                if target in self.shape_names:
                    self._widen_slider(key.key_blocks[key_name])
        if self.bone_names or self.eye_names:
            self.arm_name = rig.armature.name
            self.arm_action = self._make_action(rig.armature, self.take_name,
                                                ("object", self.arm_name))
            for name in self.bone_names + self.eye_names:
                rig.armature.pose.bones[name].rotation_mode = 'QUATERNION'

    @property
    def key_action(self) -> str | None:
        """The face mesh's shape-key action."""
        return self.key_actions.get(self.mesh_name)

    def _make_action(self, id_block, name, owner):
        action, slot = fcurves.new_action(name, id_block)
        action["timar_take"] = self.take_name
        ad = id_block.animation_data
        track = None
        if ad is not None and ad.action is not None:
            track = fcurves.push_down(id_block, mute="timar_take" in ad.action)
        # by name, never the ID itself (an undo may free it): a mesh's shape keys or the armature
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
        self.key_actions, self.arm_action = {}, None

    def _widen_slider(self, kb):
        rng = self.targets.slider_range
        if rng:
            kb.slider_min = min(kb.slider_min, rng[0])
            kb.slider_max = max(kb.slider_max, rng[1])

    def append(self, motion, face=None) -> None:
        """Add frames (n, 56) at 25 fps, with their face frames (n, 67) where the model
        made them (None: what FLAME implies), and rewrite the keys of the whole take."""
        chunk = flame_motion.check_motion(motion)
        face = channels.combine(chunk, face)[:, channels.FLAME_DIM:]
        if not np.isfinite(face).all():
            raise ValueError("face frames hold NaN or infinite values")
        self.motion = np.concatenate([self.motion, chunk], axis=0)
        self.face = np.concatenate([self.face, face], axis=0)
        self.write()

    def prepared(self) -> np.ndarray:
        """(N, 123) channels at the scene's rate: dials, smoothing, resampling."""
        s = self.settings
        c = channels.combine(self.motion, self.face) * channels.dial_gains(s.dials())[None]
        return flame_motion.resample(flame_motion.gaussian_smooth(c, float(s.smoothing)), self.fps)

    def channel_values(self):
        """(frames, shape values, bone quaternions) for the motion received so far."""
        c = self.prepared()
        frames = self.start_frame + np.arange(len(c), dtype=np.float32)
        shapes = shape_values(self.targets, c)
        bones = bone_quaternions(self.targets, c)
        blink_targets = [n for n in self.targets.blink_keys if self.settings.blinks]
        if blink_targets:
            blink = self._curve("blink", len(c))
            for name in blink_targets:
                shapes[name] = np.maximum(shapes[name], blink) if name in shapes else blink
        if self.eye_names or self.look_names:
            s = self.settings
            g = gaze.gaze_curve(c, self.fps, s.seed, s.look_at, s.intensity_eyes)
            aa = gaze.gaze_axis_angle(g)
            for name, amap in zip(self.targets.eye_bones, self.targets.eye_axis_maps):
                bones[name] = flame_motion.axis_angle_to_quaternion(
                    aa if amap is None else aa @ np.asarray(amap).T)
            looks = gaze.look_key_values(g)
            for name in self.look_names:
                shapes[name] = np.clip(shapes.get(name, 0.0) + looks[name], 0, 1).astype(np.float32)
        return frames, shapes, bones

    def _curve(self, kind: str, n: int) -> np.ndarray:
        """Blinks for n frames; made for a longer span and sliced (they are prefix-stable),
        so a take growing turn by turn does not recompute them."""
        have = self._procedural.get(kind)
        if have is None or len(have) < n:
            span = max(n, 2 * (len(have) if have is not None else 0), int(self.fps * 30))
            have = flame_motion.blink_curve(span, self.fps, self.settings.seed)
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
        for mesh_name, action_name in self.key_actions.items():
            fcs = self._fcurves(action_name)
            for target, key_name in self.bindings[mesh_name]:
                fcurves.write_keys(fcs, f'key_blocks["{key_name}"].value', 0, frames,
                                   shapes[target], keep)
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
        face = self.key_action
        others = [a for m, a in self.key_actions.items() if a != face]
        return [n for n in (self.arm_action, face) if n] + sorted(others)


def write_take(head, motion, preset: Preset | str, start_frame: int = 1, take_name: str | None = None,
               intensity_exp: float = 1.0, intensity_jaw: float = 1.0,
               intensity_head: float = 1.0, smoothing: float = 0.0, blinks: bool = True,
               seed: int = 0, scene=None, face=None, intensity_lips: float = 1.0,
               intensity_eyes: float = 1.0, look_at=(0.0, 0.0)) -> TakeWriter:
    """Write a whole take (motion (T, 56) at 25 fps, face frames (T, 67) or None) onto
    ``head`` as new actions.

    Raises RigError (head does not fit) or ValueError (bad motion) before changing anything.
    ``preset`` is a Preset or the key of a shipped one ("flame", "timar_demo", "arkit",
    "viseme"). The previous active actions are pushed down to NLA tracks, never modified."""
    if isinstance(preset, str):
        preset = get_preset(preset)
    scene = scene or bpy.context.scene
    motion = flame_motion.check_motion(motion)
    if face is not None:
        channels.combine(motion, face)          # checks the shape before anything changes
    rig = resolve_head(head, preset)
    settings = TakeSettings(intensity_exp, intensity_jaw, intensity_head, smoothing, blinks,
                            seed, intensity_lips, intensity_eyes, tuple(look_at))
    writer = TakeWriter(scene, rig, preset, start_frame, take_name, settings)
    writer.append(motion, face)
    return writer
