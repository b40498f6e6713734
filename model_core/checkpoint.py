"""Saving and loading TIMAR checkpoints safely.

A checkpoint is a ``torch.save`` of plain data only: ``{"format": "timar", "version": 1,
"config": {...}, "state_dict": {...}, "meta": {...}}``. It is always read with
``torch.load(weights_only=True)``, which never runs pickled code; the only types added to
its allow-list are the data types of the official release's ``args`` Namespace
(:func:`safe_types`). Weights may be stored in half precision (the bundled model is) and
are widened to float32 on load.

A path travels one way: :func:`load_model` reads the payload, turns either layout into
(config, state dict, meta) (the official release through ``official.convert_release``),
checks the weights against the config and builds the model once.
"""
from __future__ import annotations

import argparse
import os
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import torch

from . import official
from .assets import bundled_checkpoint
from .config import TimarConfig
from .devices import resolve_device
from .errors import CheckpointError, SpeechModelError
from .fileio import atomic_write
from .input_files import check_input_file
from .model import TimarModel
from .model_size import check_model_size, parameter_count
from .weights_check import (check_config_size, check_finite, check_state_dict, check_stored_size,
                            tensor_dict)

FORMAT = "timar"
VERSION = 1


def save_checkpoint(path, model, meta: dict | None = None, half: bool = False,
                    extra: dict | None = None) -> None:
    """Write ``model`` (its config and weights) atomically; ``half`` stores float16 weights."""
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
             for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "version": VERSION, "config": model.config.to_dict(),
               "state_dict": state, "meta": dict(meta or {})}
    if extra:
        payload.update(extra)
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


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


def read_checkpoint(path) -> dict:
    """Load the raw payload with ``weights_only=True``; clear errors for bad files."""
    path = Path(path)
    check_input_file(path, "checkpoint", CheckpointError, "checkpoint")
    with open(path, "rb") as fh:
        head = fh.read(2)
    is_zip = zipfile.is_zipfile(path)
    if not is_zip and head != b"\x80\x02":   # torch zip or legacy pickle
        raise CheckpointError(f"{path}: not a PyTorch checkpoint")
    # Memory-map every zip checkpoint: tensors are read from disk only when used, so the
    # optimizer state of the official release (most of its 6.85 GB) is never read, and a
    # header that claims a huge tensor costs nothing until its shape has been checked.
    mmap = is_zip
    try:
        with torch.serialization.safe_globals(safe_types()):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" ({found.group(1)})" if found else ""
        raise CheckpointError(
            f"{path}: refused to load: the file holds Python objects that are not plain "
            f"weights{what}; only TIMAR checkpoints made by this project or the official "
            "TIMAR.pth are accepted") from None
    except (RuntimeError, zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError,
            IndexError, TypeError, AttributeError) as exc:  # torch raises these on junk
        raise CheckpointError(
            f"{path}: not a PyTorch checkpoint (cannot read it: {type(exc).__name__})") from None


def timar_payload(payload: dict, source: str) -> tuple[TimarConfig, dict, dict]:
    """(config, state dict, meta) of a payload in this project's format."""
    version = payload.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise CheckpointError(f"{source}: its format version {version!r} is not a whole "
                              "number; the file is damaged or not a TIMAR checkpoint")
    if version > VERSION:
        raise CheckpointError(f"{source}: made by a newer TIMAR (format version "
                              f"{version}); update the add-on")
    try:
        config = TimarConfig.from_dict(dict(payload["config"]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise CheckpointError(f"{source}: invalid config in checkpoint ({exc})") from None
    state = tensor_dict(payload.get("state_dict"), source, "state_dict")
    return config, state, dict(payload.get("meta", {}))


def model_from_payload(payload: dict, source: str = "checkpoint",
                       speech_model_dir: str | os.PathLike | None = None) -> TimarModel:
    """Build a TimarModel from a loaded payload of either layout, checking that the weights
    match the config before any of them is read."""
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        config, state, meta = timar_payload(payload, source)
        problem = f"{source}: weights do not match the saved config"
    elif official.is_release(payload):
        config, state, meta = official.convert_release(payload, source)
        problem = f"{source}: weights do not match the TIMAR release layout"
    else:
        raise CheckpointError(f"{source}: not a TIMAR checkpoint (no 'format: timar' header)")
    # Bounds before allocation: each field, then the model's size from the config as a
    # whole (parameters and one turn's activations), then whether the file holds anything
    # like that many values; only then is the model built.
    check_config_size(config, source)
    check_model_size(config, source)
    check_stored_size(state, parameter_count(config), source)
    try:
        model = TimarModel(config, speech_model_dir)     # bounded by check_config_size
    except SpeechModelError as exc:                      # say which weights need it
        raise SpeechModelError(f"{source}: {exc}") from None
    # Keys and shapes are compared before any stored tensor is read (they are memory-
    # mapped), so a header claiming a huge tensor is refused without allocating it.
    check_state_dict(model.state_dict(), state, problem)
    check_finite(state, source)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    if config.speech_frontend == "wav2vec2":
        meta["speech_model"] = str(model.frontend.model_dir)
    model.meta = meta
    model.source = source          # named when its output is out of range (output_check)
    return model.eval()


def load_model(path: str | os.PathLike | None = None, device: str = "auto",
               speech_model_dir: str | os.PathLike | None = None) -> TimarModel:
    """Load a checkpoint (None = the bundled model) onto ``device`` in eval mode.
    ``speech_model_dir``: the wav2vec2 folder official-layout weights need (else
    $TIMAR_SPEECH_MODEL); ignored by log-mel models."""
    if path is None:
        path = bundled_checkpoint()
        if not path.is_file():
            raise CheckpointError(
                f"the bundled model is missing ({path}); train one with "
                "`python -m model_core train` or pass --checkpoint PATH")
    model = model_from_payload(read_checkpoint(path), str(path), speech_model_dir)
    return model.to(resolve_device(device))
