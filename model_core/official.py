"""The authors' released TIMAR weights (``TIMAR.pth``) -> this project's (config, state dict).

One direction only, like a ``from_pretrained`` conversion: :func:`convert_release` reads a
release payload and returns what :func:`model_core.checkpoint.load_model` builds any model
from. Nothing here builds a model, loads a speech model or reads a file.

The release is a ``torch.save`` of ``{"model", "model_ema", "optimizer", "epoch", "scaler",
"args"}`` (any subset of these); ``model_ema`` is preferred, as in the reference evaluation.
``args`` is a pickled ``argparse.Namespace``; the checkpoint reader's allow-list admits it.

The architecture is inferred from the state dict shapes (width, depth, window, diffusion
head), so ``timar_base`` and ``timar_large`` files both load. The model gets learned
absolute positions (recomputed window every turn, no key/value cache), raw FLAME motion
(identity normalisation) and the wav2vec2 speech front end (see ``speech/wav2vec2.py``).
"""
from __future__ import annotations

import argparse
import re

import numpy as np
import torch

from .config import TimarConfig
from .constants import MOTION_DIM, TOKENS_PER_TURN
from .errors import CheckpointError
from .weights_check import tensor_dict

# Attention heads of the reference presets by width (head count is not in the shapes);
# other widths get 64-dimensional heads, as timar_base and timar_large have.
HEADS_BY_WIDTH = {768: 12, 1024: 16, 1280: 16}
RELEASE_KEYS = ("model_ema", "model")    # the weights, preferred first


def is_release(payload) -> bool:
    """Whether a loaded payload has the release layout (not this project's format)."""
    return isinstance(payload, dict) and any(k in payload for k in RELEASE_KEYS)


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


# ----------------------------------------------------------------------------- conversion
def release_state_dict(payload: dict, source: str = "checkpoint") -> tuple[dict, str]:
    """The weights to use (``model_ema``, else ``model``), ``module.`` stripped. Tensors stay
    as loaded (memory-mapped): they are widened only after their keys and shapes were
    checked, and the other entries (optimizer state) are never read."""
    for name in RELEASE_KEYS:
        state = payload.get(name)
        if isinstance(state, dict) and state:
            break
    else:
        raise CheckpointError(f"{source}: holds neither 'model_ema' nor 'model' weights")
    tensor_dict(state, source, name)
    clean = {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}
    return clean, name


def _args_summary(args) -> dict:
    """Plain scalar settings of the training run, for display (arrays left out)."""
    if not isinstance(args, argparse.Namespace):
        return {}
    return {k: v for k, v in vars(args).items()
            if isinstance(v, (str, int, float, bool)) or v is None}


def convert_release(payload: dict, source: str = "checkpoint") -> tuple[TimarConfig, dict, dict]:
    """(config, state dict in this project's layout, meta) of an official-release payload.
    The release trains on raw FLAME motion, so the normalisation buffers are the identity."""
    state, used = release_state_dict(payload, source)
    args = payload.get("args")
    try:
        config = config_from_state_dict(state, args, source)
    except (ValueError, IndexError, ZeroDivisionError) as exc:   # shapes no TIMAR model has
        raise CheckpointError(f"{source}: not a TIMAR release: its weight shapes describe no "
                              f"TIMAR model ({exc})") from None
    state = dict(state, motion_mean=torch.zeros(MOTION_DIM), motion_std=torch.ones(MOTION_DIM))
    epoch = payload.get("epoch")
    meta = {"source": "official TIMAR release", "weights": used,
            "epoch": int(epoch) if isinstance(epoch, (int, np.integer)) else None,
            "train_args": _args_summary(args)}
    return config, state, meta
