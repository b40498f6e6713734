"""Checks a loaded state dict must pass before any of its tensors is read or a model is
built from it: the container's type, key and shape agreement with the model, finite values,
and a config small enough to build. Shared by both checkpoint layouts (this project's and
the official release's); every failure is one CheckpointError line."""
from __future__ import annotations

import torch

from .errors import CheckpointError

# Far above any TIMAR model (the paper's large one is 1024 wide, 32 deep): a config beyond
# these is damaged or hostile and would allocate gigabytes before anything else is checked.
CONFIG_LIMITS = {"width": 8192, "depth": 256, "diff_width": 8192, "diff_depth": 64,
                 "window_turns": 64, "n_mels": 512}


def _first(keys, n: int = 4) -> str:
    keys = list(keys)
    return ", ".join(keys[:n]) + (" ..." if len(keys) > n else "")


def tensor_dict(value, source: str, what: str) -> dict:
    """``value`` if it is a non-empty dict of tensors, else a one-line CheckpointError."""
    if value is None:
        raise CheckpointError(f"{source}: has no '{what}' (the weights); it is not a complete "
                              "TIMAR checkpoint: re-save it with `python -m model_core train` or export")
    if not isinstance(value, dict) or not value:
        raise CheckpointError(f"{source}: '{what}' is not a dictionary of weights "
                              f"(found {type(value).__name__}); the file is damaged or not a TIMAR checkpoint")
    odd_keys = [repr(k) for k in value if not isinstance(k, str)]
    if odd_keys:
        raise CheckpointError(f"{source}: '{what}' has names that are not text ({_first(odd_keys)}); "
                              "the file is damaged or not a TIMAR checkpoint")
    bad = [str(k) for k, v in value.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{source}: '{what}' holds entries that are not tensors ({_first(bad)})")
    sparse = [k for k, v in value.items() if v.layout != torch.strided]
    if sparse:
        raise CheckpointError(f"{source}: '{what}' holds sparse tensors ({_first(sparse)}); "
                              "TIMAR weights are dense: re-save them with `python -m model_core export`")
    return value


def check_stored_size(state: dict, expected_values: int, source: str) -> None:
    """Refuse a state dict holding far fewer values than its config's model has, before
    that model is built: a small file cannot be the weights of a large config (only
    tensor shapes are read, no values)."""
    stored = sum(v.numel() for v in state.values())
    if stored < expected_values // 2:
        raise CheckpointError(
            f"{source}: its config describes {expected_values:,} weights but the file holds "
            f"{stored:,}; the config does not belong to these weights (damaged or not a TIMAR checkpoint)")


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
        raise CheckpointError(f"{source}: weights hold NaN or infinite values ({_first(bad)}); "
                              "the training run diverged: use an earlier checkpoint")


def check_state_dict(expected: dict, state: dict, problem: str) -> None:
    """Raise CheckpointError(problem + details) unless ``state`` has exactly the keys and
    shapes of ``expected``."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    both = sorted(set(state) & set(expected))
    wrong = [k for k in both if state[k].shape != expected[k].shape]
    # Integer, complex or boolean values where the model has floating point weights would be
    # silently cast (int64 weights load as whole numbers, mostly zeros).
    kind = [k for k in both if state[k].is_floating_point() != expected[k].is_floating_point()
            or state[k].is_complex()]
    # A tensor on the meta device has a shape but no values: only a model built on the meta
    # device (a layout check) can take it.
    empty = [k for k in both if state[k].is_meta and not expected[k].is_meta]
    if missing or unexpected or wrong or kind or empty:
        detail = "; ".join(f"{label}: {_first(keys)}"
                           for label, keys in (("missing", missing), ("unexpected", unexpected),
                                               ("wrong shape", wrong),
                                               ("not floating point", kind),
                                               ("no values (meta tensors)", empty)) if keys)
        raise CheckpointError(f"{problem} ({detail})")
