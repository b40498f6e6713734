# SPDX-License-Identifier: GPL-3.0-or-later
"""The add-on's one door into ``model_core``, written as plain imports a reader (or an IDE)
can follow.

``model_core`` is vendored inside the extension by build.py (``timar_blender.model_core``,
"packaged") and sits at the repository root in a checkout (tests, batch runs from the
repository). The modules imported at the top are torch-free, so the add-on registers and
draws its panel before PyTorch is installed; the two that import torch (``checkpoint`` and
``generate``) are imported by the functions below on first use."""
from __future__ import annotations

from pathlib import Path

PACKAGED = (Path(__file__).resolve().parent / "model_core").is_dir()

if PACKAGED:
    from .model_core import (assets, constants, errors, fileio, input_files, last_resort,
                             limits, outputs, paths)
    from .model_core.face import (channels as face_channels, flame, livelink, livelink_motion,
                                  motion_files)
    from .model_core.speech import audio, audio_stream, speech_model
else:
    from model_core import (assets, constants, errors, fileio, input_files,  # noqa: F401
                            last_resort, limits, outputs, paths)
    from model_core.face import (channels as face_channels, flame, livelink,  # noqa: F401
                                 livelink_motion, motion_files)
    from model_core.speech import audio, audio_stream, speech_model  # noqa: F401

TimarError = errors.TimarError


def checkpoint_module():
    """``model_core.checkpoint`` (imports torch): ``load_model(path, device, speech_dir)``."""
    if PACKAGED:
        from .model_core import checkpoint
    else:
        from model_core import checkpoint
    return checkpoint


def generate_module():
    """``model_core.generate`` (imports torch): ``DialogueGenerator``, ``GenerationOptions``."""
    if PACKAGED:
        from .model_core import generate
    else:
        from model_core import generate
    return generate


def load_audio(path: str):
    """16 kHz mono float32, or AudioError with a one-line message."""
    return audio.load_audio(path)


def load_motion_npz(path: str):
    return flame.load_motion_npz(path)


def load_motion(path: str):
    """(T, 56) FLAME motion at 25 fps from a FLAME .npz or a Live Link Face .csv take, or a
    MotionFileError with a one-line message."""
    return motion_files.load_motion(path)


def write_livelink_csv(path: str, motion, face=None) -> None:
    """A head's (T, 56) motion (and (T, 67) face frames, if the model made them) as a Live
    Link Face CSV take at ``path`` (written as it is; the caller publishes it)."""
    livelink.write_livelink_csv(path, livelink_motion.take_from_head(motion, face))


def truncation_warning(path: str, label: str) -> str | None:
    """A warning when a WAV file ends before its header says (a cut-short copy)."""
    return audio_stream.truncation_warning(path, label)
