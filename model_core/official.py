"""Loading the authors' released TIMAR weights (``TIMAR.pth``) into this project's model.

The release is a ``torch.save`` of ``{"model", "model_ema", "optimizer", "epoch", "scaler",
"args"}`` (any subset of these); ``model_ema`` is preferred, as in the reference evaluation.
``args`` is a pickled ``argparse.Namespace`` that may hold numpy arrays, so
``read_checkpoint`` unpickles it with ``weights_only=True`` widened by the exact data types
in :func:`safe_types` (nothing that can run code).

The architecture is inferred from the state dict shapes (width, depth, window, diffusion
head), so ``timar_base`` and ``timar_large`` files both load. The model gets learned
absolute positions (recomputed window every turn, no key/value cache), raw FLAME motion
(no normalisation) and the wav2vec2 speech front end, read from a local folder set with
:func:`set_speech_model_dir` or ``$TIMAR_SPEECH_MODEL``.
"""
from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import numpy as np

from .config import TimarConfig
from .constants import MOTION_DIM, TOKENS_PER_TURN
from .errors import CheckpointError, TimarError

SPEECH_MODEL_ENV = "TIMAR_SPEECH_MODEL"
SPEECH_MODEL_NAME = "facebook/wav2vec2-large-960h-lv60-self"
SPEECH_MODEL_URL = "https://huggingface.co/facebook/wav2vec2-large-960h-lv60-self"
# Attention heads of the reference presets by width (head count is not in the shapes);
# other widths get 64-dimensional heads, as timar_base and timar_large have.
HEADS_BY_WIDTH = {768: 12, 1024: 16, 1280: 16}
BUFFERS_NOT_IN_RELEASE = ("motion_mean", "motion_std")   # identity: raw FLAME motion
SPEECH_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                       "pytorch_model.bin.index.json")

_speech_model_dir: Path | None = None


# ----------------------------------------------------------------------------- speech model
class SpeechModelError(TimarError):
    """The wav2vec2 speech model the official weights need is missing or unusable."""


def speech_model_help() -> str:
    return (f"download {SPEECH_MODEL_NAME} ({SPEECH_MODEL_URL}: config.json and "
            "model.safetensors or pytorch_model.bin) into a folder, then pass --speech-model "
            f"DIR, set ${SPEECH_MODEL_ENV}, or choose the folder in the add-on preferences")


def set_speech_model_dir(path: str | os.PathLike | None) -> None:
    """Point the wav2vec2 front end at a local folder (None: use $TIMAR_SPEECH_MODEL)."""
    global _speech_model_dir
    _speech_model_dir = Path(path).expanduser() if path else None


def speech_model_dir() -> Path:
    """The folder set by :func:`set_speech_model_dir`, else ``$TIMAR_SPEECH_MODEL``."""
    if _speech_model_dir is not None:
        return _speech_model_dir
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
    import importlib.util

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


# ----------------------------------------------------------------------------- safe unpickling
def safe_types() -> list:
    """The few data-only globals an official ``args`` Namespace needs on top of torch's
    ``weights_only`` set: the Namespace itself, numpy arrays, scalars and plain dtypes (the
    ``numpy._core`` spellings are what numpy 2 writes). No object arrays, no callables."""
    try:
        from numpy._core import multiarray        # numpy 2 (a shim in numpy 1.26)
    except ImportError:                           # pragma: no cover - older numpy
        from numpy.core import multiarray
    _reconstruct, scalar = multiarray._reconstruct, multiarray.scalar
    types: list = [argparse.Namespace, np.ndarray, np.dtype]
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        types += [(_reconstruct, f"{module}._reconstruct"), (scalar, f"{module}.scalar")]
    types += sorted({type(np.dtype(code)) for code in "?bhilqBHILQefdgFDUS"}, key=str)
    return types


# ----------------------------------------------------------------------------- config
def _block_count(state: dict, prefix: str) -> int:
    found = {int(m.group(1)) for k in state if (m := re.match(re.escape(prefix) + r"(\d+)\.", k))}
    if found != set(range(len(found))):
        raise CheckpointError(f"blocks {prefix}N are not numbered 0..n-1: {sorted(found)}")
    return len(found)


def _shape(state: dict, key: str, source: str) -> tuple[int, ...]:
    if key not in state:
        raise CheckpointError(f"{source}: not a TIMAR release: weight {key!r} is missing")
    return tuple(state[key].shape)


def _heads(width: int, args) -> int:
    """Heads from ``args`` when it names them, else the reference presets' choice."""
    for name in ("encoder_num_heads", "num_heads"):
        value = getattr(args, name, None)
        if isinstance(value, (int, np.integer)) and value > 0 and width % int(value) == 0:
            return int(value)
    return HEADS_BY_WIDTH.get(width, max(1, width // 64))


def config_from_state_dict(state: dict, args=None, source: str = "checkpoint") -> TimarConfig:
    """Infer the TimarConfig of a release-layout state dict from its shapes (and ``args``)."""
    width, token_dim = _shape(state, "z_proj.weight", source)
    if token_dim != width:
        raise CheckpointError(f"{source}: token width {token_dim} differs from the encoder "
                              f"width {width}; only releases with equal widths are supported")
    depth = _block_count(state, "encoder_blocks.")
    if depth == 0:
        raise CheckpointError(f"{source}: not a TIMAR release: no encoder_blocks")
    hidden = _shape(state, "encoder_blocks.0.mlp.fc1.weight", source)[0]
    positions = _shape(state, "encoder_pos_embed_learned", source)[1]
    if positions % TOKENS_PER_TURN:
        raise CheckpointError(f"{source}: {positions} learned positions are not whole "
                              f"turns of {TOKENS_PER_TURN} tokens")
    if _shape(state, "motion_encoder.0.weight", source) != (width // 2, MOTION_DIM):
        raise CheckpointError(f"{source}: motion encoder is not {MOTION_DIM} -> {width // 2}")
    diff_width, channels = _shape(state, "diffloss.net.input_proj.weight", source)
    out = _shape(state, "diffloss.net.final_layer.linear.weight", source)[0]
    if channels != MOTION_DIM or out != 2 * MOTION_DIM:
        raise CheckpointError(f"{source}: diffusion head is for {channels} values with {out} "
                              f"outputs, expected {MOTION_DIM} with {2 * MOTION_DIM} (learned variance)")
    steps = getattr(args, "num_sampling_steps", None)
    return TimarConfig(
        width=width, depth=depth, heads=_heads(width, args), mlp_ratio=hidden / width,
        window_turns=positions // TOKENS_PER_TURN, attention="turn_causal",
        positions="absolute", speech_frontend="wav2vec2",
        speech_feat_dim=_shape(state, "speech_projection.weight", source)[1],
        head="diffusion", diff_width=diff_width,
        diff_depth=_block_count(state, "diffloss.net.res_blocks."),
        diff_train_steps=1000,
        diff_sample_steps=int(steps) if str(steps or "").isdigit() else 5,
        normalize_motion=False)


# ----------------------------------------------------------------------------- loading
def release_state_dict(payload: dict, source: str = "checkpoint") -> tuple[dict, str]:
    """The weights to use (``model_ema``, else ``model``) as float32, ``module.`` stripped."""
    for name in ("model_ema", "model"):
        state = payload.get(name)
        if isinstance(state, dict) and state:
            break
    else:
        raise CheckpointError(f"{source}: holds neither 'model_ema' nor 'model' weights")
    from .checkpoint import tensor_dict

    tensor_dict(state, source, name)
    # Tensors stay as loaded (memory-mapped): they are widened only after their keys and
    # shapes were checked, and the other entries (optimizer state) are never read.
    clean = {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}
    return clean, name


def _check_keys(model, state: dict, source: str) -> None:
    from .checkpoint import check_state_dict

    expected = {k: v for k, v in model.state_dict().items() if k not in BUFFERS_NOT_IN_RELEASE}
    check_state_dict(expected, state, f"{source}: weights do not match the TIMAR release layout")


def _args_summary(args) -> dict:
    """Plain scalar settings of the training run, for display (arrays left out)."""
    if not isinstance(args, argparse.Namespace):
        return {}
    return {k: v for k, v in vars(args).items()
            if isinstance(v, (str, int, float, bool)) or v is None}


def model_from_official(payload: dict, source: str = "checkpoint"):
    """Build a TimarModel from an official-release payload (see the module docstring)."""
    from .model import TimarModel

    state, used = release_state_dict(payload, source)
    args = payload.get("args")
    config = config_from_state_dict(state, args, source)
    want_feat = config.speech_feat_dim
    model = TimarModel(config)                      # loads the wav2vec2 front end
    if model.config.speech_feat_dim != want_feat:
        raise SpeechModelError(
            f"{source} expects {want_feat}-dim speech features but the speech model in "
            f"{model.frontend.model_dir} gives {model.config.speech_feat_dim}: use "
            f"{SPEECH_MODEL_NAME}")
    _check_keys(model, state, source)
    from .checkpoint import check_finite

    check_finite(state, source)
    result = model.load_state_dict({k: v.float() if v.is_floating_point() else v
                                    for k, v in state.items()}, strict=False)
    assert set(result.missing_keys) <= set(BUFFERS_NOT_IN_RELEASE) and not result.unexpected_keys
    epoch = payload.get("epoch")
    model.meta = {"source": "official TIMAR release", "weights": used,
                  "epoch": int(epoch) if isinstance(epoch, (int, np.integer)) else None,
                  "speech_model": str(model.frontend.model_dir),
                  "train_args": _args_summary(args)}
    return model.eval()
