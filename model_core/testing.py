"""Helpers for tests and examples: a real (randomly initialised) tiny checkpoint made by
the project's own code, so front ends can be tested before any training has happened."""
from __future__ import annotations

import torch

from .checkpoint import save_checkpoint
from .config import preset


def speech_like(seconds: float, seed: int):
    """Noise bursts at a syllable-like rate (16 kHz float32): never silent, realistic
    feature cost, no files or synthesisers needed. For tests and benchmarks."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(round(seconds * 16000))
    t = np.arange(n) / 16000
    envelope = np.clip(np.sin(2 * np.pi * 3.0 * t + rng.uniform(0, 6)), 0, None) ** 2
    return (0.1 * envelope * rng.standard_normal(n)).astype(np.float32)


def make_tiny_model(seed: int = 0, **overrides):
    """A tiny-preset TimarModel whose zero-initialised output layers are perturbed, so its
    output depends on its inputs (an untrained diffusion head would output noise only)."""
    from .model import TimarModel

    torch.manual_seed(seed)
    model = TimarModel(preset("tiny", **overrides))
    with torch.no_grad():
        for p in model.diffloss.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def make_tiny_checkpoint(path, seed: int = 0, **overrides) -> str:
    save_checkpoint(path, make_tiny_model(seed, **overrides), meta={"note": "random tiny test model"})
    return str(path)


def write_toy_dialogues(folder, count: int = 2, seconds: float = 9.0, seed: int = 0) -> list[str]:
    """Write ``count`` toy dialogues in the DualTalk layout (noise-like speech, smooth
    random FLAME motion) for tests that need files but not realistic content."""
    from pathlib import Path

    import numpy as np
    import soundfile as sf

    from .constants import FPS, SAMPLE_RATE
    from .face.flame import save_motion_npz

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = []
    for i in range(count):
        ident = f"toy{i:03d}"
        frames = int(seconds * FPS)
        for spk in (1, 2):
            n = frames * (SAMPLE_RATE // FPS)
            env = np.clip(np.sin(np.linspace(0, seconds * 2 * np.pi * rng.uniform(1, 3), n)), 0, None)
            sf.write(folder / f"{ident}_speaker{spk}.wav",
                     (0.2 * env * rng.standard_normal(n)).astype(np.float32), SAMPLE_RATE)
            walk = np.cumsum(rng.normal(scale=0.02, size=(frames, 56)), axis=0).astype(np.float32)
            save_motion_npz(folder / f"{ident}_speaker{spk}.npz", walk)
        ids.append(ident)
    return ids
