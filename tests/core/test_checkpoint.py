"""Checkpoints: round trip, half precision, refusing unsafe or mismatched files."""
import os

import numpy as np
import pytest
import torch

from model_core.checkpoint import load_model, read_checkpoint, save_checkpoint
from model_core.config import PRESETS, TimarConfig, preset
from model_core.errors import CheckpointError
from model_core.model import TimarModel
from model_core.testing import make_tiny_model


class RunsCode:
    """Unpickling this would write a file: the attack a checkpoint must not allow."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_round_trip_keeps_config_and_weights(tmp_path):
    model = make_tiny_model(seed=1)
    model.set_motion_stats(np.arange(56), np.full(56, 2.0))
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, meta={"note": "x"})
    loaded = load_model(path, device="cpu")
    assert loaded.config == model.config
    for (k, v), (_, w) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(v, w), k
    assert loaded.meta["note"] == "x"


def test_half_precision_checkpoint_is_small_and_close(tmp_path):
    model = make_tiny_model(seed=1)
    full, half = tmp_path / "f.pt", tmp_path / "h.pt"
    save_checkpoint(full, model)
    save_checkpoint(half, model, half=True)
    assert os.path.getsize(half) < 0.6 * os.path.getsize(full)
    loaded = load_model(half, device="cpu")
    for (k, v), (_, w) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert w.dtype == v.dtype
        assert torch.allclose(v, w, atol=1e-3, rtol=1e-3), k


def test_pickled_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "timar", "config": {}, "state_dict": {}, "x": RunsCode(str(marker))}, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_model(path, device="cpu")
    assert not marker.exists()


def test_not_a_checkpoint(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        read_checkpoint(junk)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a TIMAR checkpoint"):
        load_model(tmp_path / "other.pt", device="cpu")
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "missing.pt")


def test_weights_that_do_not_match_the_config_are_refused(tmp_path):
    model = make_tiny_model()
    path = tmp_path / "m.pt"
    save_checkpoint(path, model)
    payload = torch.load(path, weights_only=True)
    payload["config"]["width"] = 96
    payload["config"]["heads"] = 2
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="do not match"):
        load_model(path, device="cpu")


def test_presets_build_and_large_matches_the_paper():
    for name in PRESETS:
        cfg = preset(name)
        assert isinstance(cfg, TimarConfig)
    large = preset("large")
    assert (large.width, large.depth, large.heads, large.diff_width, large.diff_depth) == (1024, 32, 16, 1024, 3)
    with pytest.raises(ValueError):
        TimarConfig(width=65, heads=2)
    assert TimarConfig.from_dict(preset("tiny").to_dict()) == preset("tiny")
    assert sum(p.numel() for p in TimarModel(preset("tiny")).parameters()) < 1_000_000


def test_export_command_writes_a_half_precision_copy(tiny_checkpoint, tmp_path):
    from model_core import cli

    out = tmp_path / "shipped.pt"
    assert cli.main(["export", str(tiny_checkpoint), str(out), "--half"]) == 0
    payload = torch.load(out, weights_only=True)
    assert all(v.dtype == torch.float16 for v in payload["state_dict"].values() if v.is_floating_point())
    assert payload["meta"]["half"] is True
    assert load_model(out, device="cpu").config == load_model(tiny_checkpoint, device="cpu").config
