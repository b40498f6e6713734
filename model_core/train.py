"""Training loop shared by TIMAR and the DualTalk-architecture baseline.

Any model with ``training_loss(batch) -> (loss, logs)`` and a ``config`` trains here:
AdamW with linear warm-up and cosine decay, gradient clipping, EMA weights (what gets
saved for inference), periodic and resumable checkpoints, a progress line with loss and
throughput, CPU by default, CUDA with bf16 autocast where present, and several processes
through ``torchrun`` (DistributedDataParallel; gloo on CPU, nccl on CUDA).
"""
from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .devices import resolve_device
from .errors import TimarError
from .fileio import atomic_write


@dataclass
class TrainOptions:
    epochs: int = 10
    batch_size: int = 8
    lr: float = 3e-4
    weight_decay: float = 0.02
    warmup_steps: int = 200
    min_lr_ratio: float = 0.1
    grad_clip: float = 3.0
    ema_decay: float = 0.999
    save_every: int = 200            # steps between checkpoints
    max_minutes: float = 0.0         # stop (and save) after this wall time; 0 = no limit
    seed: int = 0
    device: str = "auto"
    log_every: int = 10
    precision: str = "auto"          # auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16


def _dist_info() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return world, rank, local


def collate(items: list[dict]) -> dict:
    keys = ("audio_agent", "audio_user", "motion_agent", "motion_user")
    return {k: torch.as_tensor(np.stack([np.asarray(it[k], dtype=np.float32) for it in items]))
            for k in keys}


def motion_stats(dataset) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std of the agents' motion over a dataset."""
    total, total_sq, count = 0.0, 0.0, 0
    for i in range(len(dataset)):
        m = np.asarray(dataset[i]["motion_agent"], dtype=np.float64)
        total = total + m.sum(0)
        total_sq = total_sq + (m ** 2).sum(0)
        count += len(m)
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean ** 2, 1e-10))
    return mean.astype(np.float32), std.astype(np.float32)


class Trainer:
    """Owns the optimisation state; ``save_fn(path, model, meta)`` writes an inference
    checkpoint of the EMA model in the model's own format."""

    def __init__(self, model: nn.Module, dataset, options: TrainOptions, out_path,
                 save_fn, resume: bool = False, log=print):
        self.opt = options
        self.world, self.rank, local = _dist_info()
        self.log = log if self.rank == 0 else (lambda *a, **k: None)
        if self.world > 1:
            import torch.distributed as dist
            if not dist.is_initialized():
                backend = "nccl" if torch.cuda.is_available() and options.device != "cpu" else "gloo"
                dist.init_process_group(backend)
            if torch.cuda.is_available() and options.device != "cpu":
                torch.cuda.set_device(local)
                self.device = torch.device("cuda", local)
            else:
                self.device = torch.device("cpu")
        else:
            self.device = resolve_device(options.device)
        torch.manual_seed(options.seed + self.rank)
        self.model = model.to(self.device)
        self.ema = copy.deepcopy(self.model).eval()
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self.dataset = dataset
        self.out_path = Path(out_path)
        self.state_path = self.out_path.with_suffix(self.out_path.suffix + ".train")
        self.save_fn = save_fn
        decay, no_decay = [], []
        for name, p in self.model.named_parameters():
            (no_decay if p.ndim < 2 or "embed" in name or "token" in name or "latent" in name
             else decay).append(p)
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": options.weight_decay},
             {"params": no_decay, "weight_decay": 0.0}], lr=options.lr, betas=(0.9, 0.95))
        self.steps_per_epoch = max(1, len(dataset) // (options.batch_size * self.world))
        self.total_steps = self.steps_per_epoch * options.epochs
        self.step = 0
        self.epoch = 0
        if resume:
            self._load_state()
        self.wrapped = self.model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel
            self.wrapped = DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    # ------------------------------------------------------------------ schedule
    def lr_at(self, step: int) -> float:
        o = self.opt
        if step < o.warmup_steps:
            return o.lr * (step + 1) / o.warmup_steps
        progress = (step - o.warmup_steps) / max(1, self.total_steps - o.warmup_steps)
        progress = min(1.0, progress)
        return o.lr * (o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))

    # ------------------------------------------------------------------ state
    def _state(self) -> dict:
        return {"model": self.model.state_dict(), "ema": self.ema.state_dict(),
                "optimizer": self.optimizer.state_dict(), "step": self.step, "epoch": self.epoch,
                "options": asdict(self.opt), "torch_rng": torch.get_rng_state()}

    def _load_state(self) -> None:
        if not self.state_path.is_file():
            raise TimarError(f"--resume: no training state at {self.state_path}")
        state = torch.load(self.state_path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.epoch = int(state["step"]), int(state["epoch"])
        torch.set_rng_state(state["torch_rng"])
        self.log(f"resumed from {self.state_path} at epoch {self.epoch}, step {self.step}")

    def save(self) -> None:
        if self.rank != 0:
            return
        meta = {"step": self.step, "epoch": self.epoch, "train_options": asdict(self.opt)}
        self.save_fn(self.out_path, self.ema, meta)
        state = self._state()
        atomic_write(self.state_path, lambda tmp: torch.save(state, tmp))

    # ------------------------------------------------------------------ loop
    @torch.no_grad()
    def _update_ema(self) -> None:
        d = self.opt.ema_decay
        # Early on, follow the weights closely (the usual warm-up of the EMA rate).
        d = min(d, (1 + self.step) / (10 + self.step))
        for e, p in zip(self.ema.parameters(), self.model.parameters()):
            e.lerp_(p.detach(), 1 - d)
        for e, b in zip(self.ema.buffers(), self.model.buffers()):
            e.copy_(b)

    def _batches(self, epoch: int):
        g = torch.Generator().manual_seed(self.opt.seed * 1000 + epoch)
        order = torch.randperm(len(self.dataset), generator=g).tolist()
        order = order[self.rank::self.world]
        bs = self.opt.batch_size
        for i in range(self.steps_per_epoch):
            chunk = order[i * bs:(i + 1) * bs]
            if len(chunk) < bs:
                return
            yield collate([self.dataset[j] for j in chunk])

    def fit(self) -> dict:
        o = self.opt
        use_amp = o.precision == "bf16" or (o.precision == "auto" and self.device.type == "cuda")
        start = time.perf_counter()
        last_log, clips_since, loss_avg = start, 0, None
        stopped_early = False
        self.model.train()
        while self.epoch < o.epochs and not stopped_early:
            skip = self.step - self.epoch * self.steps_per_epoch   # resume mid-epoch
            for i, batch in enumerate(self._batches(self.epoch)):
                if i < skip:
                    continue
                for group in self.optimizer.param_groups:
                    group["lr"] = self.lr_at(self.step)
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=use_amp):
                    loss, _ = self._loss(batch)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if o.grad_clip > 0:
                    nn.utils.clip_grad_norm_(self.model.parameters(), o.grad_clip)
                self.optimizer.step()
                self._update_ema()
                self.step += 1
                clips_since += len(batch["motion_agent"]) * self.world
                value = float(loss.detach())
                loss_avg = value if loss_avg is None else 0.95 * loss_avg + 0.05 * value
                now = time.perf_counter()
                if self.step % o.log_every == 0 or self.step == 1:
                    rate = clips_since / max(now - last_log, 1e-9)
                    self.log(f"epoch {self.epoch + 1}/{o.epochs} step {self.step}/{self.total_steps} "
                             f"loss {loss_avg:.4f} lr {self.lr_at(self.step):.2e} "
                             f"{rate:.1f} clips/s elapsed {(now - start) / 60:.1f} min", flush=True)
                    last_log, clips_since = now, 0
                if self.step % o.save_every == 0:
                    self.save()
                if o.max_minutes and now - start > o.max_minutes * 60:
                    stopped_early = True
                    break
            else:
                self.epoch += 1
        self.save()
        return {"steps": self.step, "epochs": self.epoch, "loss": loss_avg,
                "minutes": (time.perf_counter() - start) / 60, "stopped_early": stopped_early}

    def _loss(self, batch):
        if self.world > 1:
            # Through the DDP wrapper (its forward is training_loss) so gradients are averaged.
            return self.wrapped(batch)
        return self.model.training_loss(batch)
