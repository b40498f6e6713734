"""Choosing the compute device: ``auto`` picks CUDA, then Apple MPS, then the CPU."""
from __future__ import annotations

import torch

from .errors import DeviceError


def resolve_device(name: str = "auto") -> torch.device:
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError("CUDA was requested but no CUDA GPU is available to this PyTorch "
                          f"(torch {torch.__version__}); choose device 'cpu' or 'auto', or install "
                          "a CUDA build of PyTorch")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise DeviceError("Apple MPS was requested but is not available; choose 'cpu' or 'auto'")
    if name not in ("cpu", "mps") and not name.startswith("cuda"):
        raise DeviceError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    return torch.device(name)
