# SPDX-License-Identifier: GPL-3.0-or-later
"""The one import of model_core: vendored inside the extension (packaged) or at the
repository root (checkout, tests). Modules that need torch are imported on first use, so
the add-on registers and its panel works before PyTorch is installed."""
from __future__ import annotations

import importlib

try:
    from . import model_core as mc  # packaged extension
except ImportError:
    import model_core as mc  # repository checkout

from importlib import import_module

errors = import_module(mc.__name__ + ".errors")
outputs = import_module(mc.__name__ + ".outputs")   # bpy- and torch-free
limits = import_module(mc.__name__ + ".limits")
TimarError = errors.TimarError
AudioError = errors.AudioError
MotionFileError = errors.MotionFileError
CheckpointError = errors.CheckpointError
DeviceError = errors.DeviceError


def _sub(name: str):
    return importlib.import_module(f"{mc.__name__}.{name}")


def mc_audio():
    return _sub("audio")


def mc_flame():
    return _sub("flame")


def mc_checkpoint():
    return _sub("checkpoint")


def mc_generate():
    return _sub("generate")


def mc_speech_model():
    """Where the official weights' speech model lives (torch-free)."""
    return _sub("speech_model")


def load_audio(path: str):
    """16 kHz mono float32, or AudioError with a one-line message."""
    return mc_audio().load_audio(path)


def load_motion_npz(path: str):
    return mc_flame().load_motion_npz(path)


def truncation_warning(path: str, label: str) -> str | None:
    """A warning when a WAV file ends before its header says (a cut-short copy)."""
    return _sub("audio_stream").truncation_warning(path, label)
