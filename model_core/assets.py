"""Where the bundled assets live: the one locator every part of the project uses.

``$TIMAR_ASSETS`` when set, else ``assets/`` beside the ``model_core`` package: the repository
root in a checkout, the extension's own folder when ``model_core`` is vendored inside it
(build.py copies both side by side)."""
from __future__ import annotations

import os
from pathlib import Path

ASSETS_ENV = "TIMAR_ASSETS"
BUNDLED_MODEL = "timar_small.pt"
MOTION_STATS = "flame_motion_stats.npz"


def assets_dir() -> Path:
    env = os.environ.get(ASSETS_ENV)
    return Path(env) if env else Path(__file__).resolve().parent.parent / "assets"


def bundled_checkpoint() -> Path:
    return assets_dir() / BUNDLED_MODEL


def rig_presets_dir() -> Path:
    return assets_dir() / "rigs"


def sample_dialogue() -> tuple[Path, Path] | None:
    """The bundled two-speaker sample (speaker 1, speaker 2) WAV files, when they are there."""
    folder = assets_dir() / "sample"
    pair = (folder / "sample_speaker1.wav", folder / "sample_speaker2.wav")
    return pair if all(p.is_file() for p in pair) else None


def motion_stats() -> Path:
    """The FLAME motion statistics the synthetic corpus is fitted to."""
    return assets_dir() / MOTION_STATS
