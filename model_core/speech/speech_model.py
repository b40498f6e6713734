"""Where the wav2vec2 speech model of the official weights lives, and what is wrong with a
folder that should hold it. Imports neither torch nor transformers, so a preferences panel
can run the checklist on every draw; the front end itself is in ``wav2vec2.py``."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ..errors import SpeechModelError

SPEECH_MODEL_ENV = "TIMAR_SPEECH_MODEL"
SPEECH_MODEL_NAME = "facebook/wav2vec2-large-960h-lv60-self"   # what the release was trained with
SPEECH_MODEL_URL = "https://huggingface.co/facebook/wav2vec2-large-960h-lv60-self"
SPEECH_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                       "pytorch_model.bin.index.json")


def speech_model_help() -> str:
    return (f"download {SPEECH_MODEL_NAME} ({SPEECH_MODEL_URL}: config.json and "
            "model.safetensors or pytorch_model.bin) into a folder, then pass --speech-model "
            f"DIR, set ${SPEECH_MODEL_ENV}, or choose the folder in the add-on preferences")


def resolve_speech_model_dir(directory: str | os.PathLike | None = None) -> Path:
    """``directory`` when given, else ``$TIMAR_SPEECH_MODEL``; SpeechModelError when neither."""
    if directory:
        return Path(directory).expanduser()
    env = os.environ.get(SPEECH_MODEL_ENV)
    if env:
        return Path(env).expanduser()
    raise SpeechModelError("the official TIMAR weights need the wav2vec2 speech model they "
                           f"were trained with, and no folder is set: {speech_model_help()}")


def speech_folder_problem(directory: str | os.PathLike | None) -> str | None:
    """What is wrong with a wav2vec2 folder (None: it looks usable). Reads no weights."""
    if not directory:
        return f"no speech model folder is set; {speech_model_help()}"
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        return f"speech model folder not found: {directory}; {speech_model_help()}"
    if not (directory / "config.json").is_file():
        return (f"{directory} has no config.json, so it is not a saved wav2vec2 model; "
                f"{speech_model_help()}")
    if not any((directory / name).is_file() for name in SPEECH_WEIGHT_FILES):
        return (f"{directory} holds no weights (model.safetensors or pytorch_model.bin); "
                f"{speech_model_help()}")
    return None


def transformers_problem() -> str | None:
    """Whether the optional ``transformers`` package is importable (without importing it)."""
    if importlib.util.find_spec("transformers") is None:
        return ("the official TIMAR weights need the Python package 'transformers' for their "
                f"wav2vec2 speech model ({SPEECH_MODEL_NAME}); install it into the Python "
                "that runs TIMAR (`python -m pip install \"transformers>=4.40\"`)")
    return None


def setup_problems(checkpoint: str | os.PathLike | None,
                   speech_dir: str | os.PathLike | None) -> list[str]:
    """A setup checklist for the official weights, cheap enough for a preferences panel:
    one line per thing missing (empty list: ready to load)."""
    problems = []
    if not checkpoint:
        problems.append("choose the official TIMAR.pth file")
    elif not Path(checkpoint).expanduser().is_file():
        problems.append(f"TIMAR.pth not found: {checkpoint}")
    for problem in (speech_folder_problem(speech_dir), transformers_problem()):
        if problem:
            problems.append(problem)
    return problems
