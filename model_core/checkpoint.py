"""Saving and loading TIMAR checkpoints safely.

A checkpoint is a ``torch.save`` of plain data only: ``{"format": "timar", "version": 1,
"config": {...}, "state_dict": {...}, "meta": {...}}``. It is always read with
``torch.load(weights_only=True)``, which never runs pickled code; the only types added to
its allow-list are the data types of the official release's ``args`` Namespace (see
``official.safe_types``). Weights may be stored in half precision (the bundled model is) and
are widened to float32 on load.
"""
from __future__ import annotations

import os
import pickle
import re
import zipfile
from pathlib import Path

import torch

from .config import TimarConfig
from .devices import resolve_device
from .errors import CheckpointError
from .fileio import atomic_write

FORMAT = "timar"
VERSION = 1
BUNDLED_NAME = "timar_small.pt"


def assets_dir() -> Path:
    """The bundled assets: $TIMAR_ASSETS, else ``assets/`` beside this package."""
    env = os.environ.get("TIMAR_ASSETS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "assets"


def bundled_checkpoint() -> Path:
    return assets_dir() / BUNDLED_NAME


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


def read_checkpoint(path) -> dict:
    """Load the raw payload with ``weights_only=True``; clear errors for bad files."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    with open(path, "rb") as fh:
        head = fh.read(2)
    is_zip = zipfile.is_zipfile(path)
    if not is_zip and head != b"\x80\x02":   # torch zip or legacy pickle
        raise CheckpointError(f"{path}: not a PyTorch checkpoint")
    from .official import safe_types   # + the official release's args Namespace (data only)

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


def tensor_dict(value, source: str, what: str) -> dict:
    """``value`` if it is a non-empty dict of tensors, else a one-line CheckpointError."""
    if value is None:
        raise CheckpointError(f"{source}: has no '{what}' (the weights); it is not a complete "
                              "TIMAR checkpoint: re-save it with `python -m model_core train` or export")
    if not isinstance(value, dict) or not value:
        raise CheckpointError(f"{source}: '{what}' is not a dictionary of weights "
                              f"(found {type(value).__name__}); the file is damaged or not a TIMAR checkpoint")
    bad = [str(k) for k, v in value.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{source}: '{what}' holds entries that are not tensors "
                              f"({', '.join(bad[:4])}{' ...' if len(bad) > 4 else ''})")
    return value


# Far above any TIMAR model (the paper's large one is 1024 wide, 32 deep): a config beyond
# these is damaged or hostile and would allocate gigabytes before anything else is checked.
CONFIG_LIMITS = {"width": 8192, "depth": 256, "diff_width": 8192, "diff_depth": 64,
                 "window_turns": 64, "n_mels": 512}


def check_config_size(config, source: str) -> None:
    for key, limit in CONFIG_LIMITS.items():
        value = getattr(config, key, None)
        if isinstance(value, int) and not 0 < value <= limit:
            raise CheckpointError(f"{source}: the saved config's {key} = {value} is outside "
                                  f"1..{limit}; the file is damaged or not a TIMAR checkpoint")


def check_finite(state: dict, source: str) -> None:
    """Refuse weights holding NaN or infinity (a diverged training run) in one line.
    Tensors on the meta device (shape checks of a layout) hold no values to check."""
    bad = [k for k, v in state.items() if v.is_floating_point() and not v.is_meta
           and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{source}: weights hold NaN or infinite values ({', '.join(bad[:4])}"
                              f"{' ...' if len(bad) > 4 else ''}); the training run diverged: use an "
                              "earlier checkpoint")


def check_state_dict(expected: dict, state: dict, problem: str) -> None:
    """Raise CheckpointError(problem + details) unless ``state`` has exactly the keys and
    shapes of ``expected``."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        detail = "; ".join(f"{label}: {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
                           for label, keys in (("missing", missing), ("unexpected", unexpected),
                                               ("wrong shape", wrong)) if keys)
        raise CheckpointError(f"{problem} ({detail})")


def model_from_payload(payload: dict, source: str = "checkpoint"):
    """Build a TimarModel from a loaded payload, checking that weights match the config."""
    from .model import TimarModel

    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        if isinstance(payload, dict) and ("model_ema" in payload or "model" in payload):
            from .official import model_from_official   # the authors' release layout
            return model_from_official(payload, source)
        raise CheckpointError(f"{source}: not a TIMAR checkpoint (no 'format: timar' header)")
    if payload.get("version", 0) > VERSION:
        raise CheckpointError(f"{source}: made by a newer TIMAR (format version "
                              f"{payload['version']}); update the add-on")
    try:
        config = TimarConfig.from_dict(dict(payload["config"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{source}: invalid config in checkpoint ({exc})") from None
    state = tensor_dict(payload.get("state_dict"), source, "state_dict")
    check_config_size(config, source)
    model = TimarModel(config)          # bounded by check_config_size
    # Keys and shapes are compared before any stored tensor is read (they are memory-
    # mapped), so a header claiming a huge tensor is refused without allocating it.
    check_state_dict(model.state_dict(), state, f"{source}: weights do not match the saved config")
    check_finite(state, source)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    model.meta = dict(payload.get("meta", {}))
    return model.eval()


def load_model(path=None, device: str = "auto"):
    """Load a checkpoint (None = the bundled model) onto ``device`` in eval mode."""
    if path is None:
        path = bundled_checkpoint()
        if not path.is_file():
            raise CheckpointError(
                f"the bundled model is missing ({path}); train one with "
                "`python -m model_core train` or pass --checkpoint PATH")
    model = model_from_payload(read_checkpoint(path), str(path))
    return model.to(resolve_device(device))
