# SPDX-License-Identifier: GPL-3.0-or-later
"""Mapping FLAME motion onto a head's rig, in one direction:

1. ``preset.py``: a rig-preset JSON (assets/rigs) -> a ``Preset`` of shape-key and bone
   targets with FLAME channel indices;
2. ``head.py``: the preset checked against a head object -> ``HeadRig`` holding the
   ``RigTargets`` (``targets.py``) this head really has;
3. ``motion.py`` + ``targets.py``: motion (T, 56) at 25 fps -> per-target values at the
   scene's frame rate (intensity, smoothing, resampling, rotations, blinks);
4. ``take.py`` + ``fcurves.py``: those values written as keys, in bulk, into new actions.

Steps 1 and 3 are pure numpy (no bpy) and are tested without Blender."""
