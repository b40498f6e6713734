"""The trainer: checkpoints, resume, EMA, and two-process DistributedDataParallel."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from model_core.checkpoint import load_model
from model_core.config import preset
from model_core.model import TimarModel
from model_core.testing import write_toy_dialogues

REPO = Path(__file__).resolve().parents[2]


def train_cli(*args, env=None):
    cmd = [sys.executable, "-m", "model_core", "train", *map(str, args)]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)


def test_train_writes_an_ema_checkpoint_and_resumes(tmp_path):
    write_toy_dialogues(tmp_path / "data" / "train", count=2, seconds=4)
    out = tmp_path / "m.pt"
    first = train_cli("--data", tmp_path / "data", "--preset", "tiny", "--out", out,
                      "--epochs", "1", "--batch-size", "2", "--segment-turns", "2",
                      "--warmup-steps", "2", "--save-every", "2")
    assert first.returncode == 0, first.stderr
    assert "loss" in first.stderr and "clips/s" in first.stderr
    model = load_model(out, device="cpu")
    assert model.meta["step"] == 4 and model.meta["epoch"] == 1     # 8 clips / batch 2
    # motion statistics were measured on the data and saved with the model
    assert not torch.allclose(model.motion_std, torch.ones(56))
    resumed = train_cli("--data", tmp_path / "data", "--preset", "tiny", "--out", out,
                        "--epochs", "2", "--batch-size", "2", "--segment-turns", "2", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed" in resumed.stderr
    assert load_model(out, device="cpu").meta["step"] == 8


def test_train_reports_a_missing_corpus_clearly(tmp_path):
    result = train_cli("--data", tmp_path / "nothing", "--out", tmp_path / "m.pt")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("error:")


DDP_SCRIPT = r"""
import os, sys, torch
sys.path.insert(0, {repo!r})
from model_core.config import preset
from model_core.data import DualTalkDataset
from model_core.model import TimarModel
from model_core.train import Trainer, TrainOptions
torch.manual_seed(0)                       # same initial weights on every rank
model = TimarModel(preset("tiny"))
ds = DualTalkDataset({data!r}, segment_frames=50)
opts = TrainOptions(epochs=1, batch_size=2, warmup_steps=1, device="cpu", save_every=1000)
trainer = Trainer(model, ds, opts, {out!r}, lambda p, m, meta: None, log=lambda *a, **k: None)
trainer.fit()
rank = int(os.environ["RANK"])
torch.save(trainer.model.state_dict(), {out!r} + f".rank{{rank}}")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_keeps_weights_identical(tmp_path):
    write_toy_dialogues(tmp_path / "data", count=2, seconds=4, seed=1)
    out = str(tmp_path / "ddp.pt")
    script = tmp_path / "ddp_train.py"
    script.write_text(DDP_SCRIPT.format(repo=str(REPO), data=str(tmp_path / "data"), out=out))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()), str(script)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    w0 = torch.load(out + ".rank0", weights_only=True)
    w1 = torch.load(out + ".rank1", weights_only=True)
    torch.manual_seed(0)                       # the weights both ranks started from
    initial = TimarModel(preset("tiny")).state_dict()
    changed = False
    for k in w0:
        assert torch.equal(w0[k], w1[k]), k
        changed |= not torch.equal(w0[k], initial[k])
    assert changed, "training did not change the weights"
