"""Per-frame diffusion head (MAR style) with a two-call contract:

- ``loss(z, target, mask)``: training loss for the frames where ``mask`` is 1;
- ``sample(z, temperature, steps, generator)``: one 56-vector per condition vector.

The denoiser is an MLP of residual blocks with adaptive LayerNorm (shift, scale, gate from
timestep embedding + condition); it predicts x0 and a learned variance range (improved DDPM
"learned range"), trained with the hybrid loss L_simple + lambda * L_vlb. Training uses the
1000-step cosine schedule; sampling a respaced schedule of a few steps. Parameter names follow
the reference release (``net.res_blocks.N.adaLN_modulation.1`` ...), which lets the official
weights load into this module.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


# ----------------------------------------------------------------------------- schedules
def cosine_alphas_cumprod(steps: int, s: float = 0.008) -> np.ndarray:
    t = np.arange(steps + 1, dtype=np.float64) / steps
    f = np.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    betas = np.clip(1.0 - f[1:] / f[:-1], 0.0, 0.999)
    return np.cumprod(1.0 - betas)


class Schedule:
    """Gaussian diffusion quantities for a (possibly respaced) subset of the base steps."""

    def __init__(self, base_steps: int, use_steps: int | None = None):
        base = cosine_alphas_cumprod(base_steps)
        if use_steps is None or use_steps >= base_steps:
            timesteps = np.arange(base_steps)
        else:
            if use_steps < 1:
                raise ValueError("diffusion steps must be >= 1")
            # Evenly spaced over [0, T-1], always including both ends (one step: T-1 only).
            start = 0 if use_steps > 1 else base_steps - 1
            timesteps = np.unique(np.round(np.linspace(start, base_steps - 1, use_steps)).astype(int))
        acp = base[timesteps]
        acp_prev = np.append(1.0, acp[:-1])
        betas = 1.0 - acp / acp_prev
        self.timesteps = timesteps                          # original indices fed to the net
        self.num_steps = len(timesteps)
        self.betas = betas
        self.acp = acp
        self.acp_prev = acp_prev
        self.posterior_var = betas * (1.0 - acp_prev) / (1.0 - acp)
        # log of the posterior variance, clipped at t=0 where it is 0.
        first = self.posterior_var[1] if len(timesteps) > 1 else max(betas[0], 1e-20)
        self.posterior_logvar = np.log(np.append(first, self.posterior_var[1:]))
        self.coef_x0 = betas * np.sqrt(acp_prev) / (1.0 - acp)
        self.coef_xt = (1.0 - acp_prev) * np.sqrt(1.0 - betas) / (1.0 - acp)

    def take(self, name: str, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        values = torch.as_tensor(getattr(self, name), dtype=torch.float32, device=t.device)[t]
        return values.view(-1, *([1] * (like.ndim - 1)))


# ----------------------------------------------------------------------------- network
class TimestepEmbedder(nn.Module):
    def __init__(self, width: int, freq_dim: int = 256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.freq_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
        args = t.float()[:, None] * freqs[None]
        return self.mlp(torch.cat([torch.cos(args), torch.sin(args)], dim=-1))


class ResBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.in_ln = nn.LayerNorm(width, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 3 * width))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale, gate = self.adaLN_modulation(c).chunk(3, dim=-1)
        h = self.in_ln(x) * (1 + scale) + shift
        return x + gate * self.mlp(h)


class FinalLayer(nn.Module):
    def __init__(self, width: int, out_dim: int):
        super().__init__()
        self.norm_final = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(width, out_dim)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
        return self.linear(self.norm_final(x) * (1 + scale) + shift)


class Denoiser(nn.Module):
    """x_t (N, C), t (N,), condition z (N, D) -> (N, 2C): x0 prediction ++ variance range."""

    def __init__(self, channels: int, cond_dim: int, width: int, depth: int):
        super().__init__()
        self.time_embed = TimestepEmbedder(width)
        self.cond_embed = nn.Linear(cond_dim, width)
        self.input_proj = nn.Linear(channels, width)
        self.res_blocks = nn.ModuleList(ResBlock(width) for _ in range(depth))
        self.final_layer = FinalLayer(width, 2 * channels)
        # adaLN and output layers start at zero: every block starts as the identity.
        for block in self.res_blocks:
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
        for layer in (self.final_layer.adaLN_modulation[-1], self.final_layer.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h = self.input_proj(x)
        c = self.time_embed(t) + self.cond_embed(z)
        for block in self.res_blocks:
            h = block(h, c)
        return self.final_layer(h, c)


# ----------------------------------------------------------------------------- head
class GaussianHead(nn.Module):
    """The diffusion process shared by the per-frame and the trajectory head: schedules,
    the hybrid loss and the respaced sampling loop. Shape-agnostic: items are (N, ...)
    tensors whose last dimension is the motion channels; subclasses own the network
    ``self.net(x_t, t, *conditions) -> (N, ..., 2C)``."""

    def __init__(self, channels: int, train_steps: int, batch_mul: int, vlb_weight: float):
        super().__init__()
        self.channels = channels
        self.train_steps = train_steps
        self.batch_mul = batch_mul
        self.vlb_weight = vlb_weight
        self.train_schedule = Schedule(train_steps)
        self._sample_schedules: dict[int, Schedule] = {}

    def _sample_schedule(self, steps: int) -> Schedule:
        if steps not in self._sample_schedules:
            self._sample_schedules[steps] = Schedule(self.train_steps, steps)
        return self._sample_schedules[steps]

    def _p_mean_logvar(self, sched: Schedule, out: torch.Tensor, x_t: torch.Tensor,
                       t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x0, v = out.split(self.channels, dim=-1)
        # Clamped to the learned range: unclamped, the rarely-trained mid timesteps can
        # extrapolate to huge variances when a few respaced steps are used (measured:
        # jaw output 5x too wide and uncorrelated with speech without the clamp).
        frac = (v.clamp(-1, 1) + 1) / 2
        min_log = sched.take("posterior_logvar", t, x_t)
        max_log = torch.log(sched.take("betas", t, x_t))
        logvar = frac * max_log + (1 - frac) * min_log
        mean = sched.take("coef_x0", t, x_t) * x0 + sched.take("coef_xt", t, x_t) * x_t
        return mean, logvar, x0

    def _hybrid_loss(self, target: torch.Tensor, weight: torch.Tensor | None, *conditions
                     ) -> torch.Tensor:
        """L_simple + lambda * L_vlb for clean ``target`` (N, ..., C) given the network's
        ``conditions`` (each with a leading N); ``weight`` (N, ...) 1 = counts."""
        if self.batch_mul > 1:
            rep = lambda x: None if x is None else x.repeat(  # noqa: E731
                self.batch_mul, *([1] * (x.ndim - 1)))
            target, weight = rep(target), rep(weight)
            conditions = tuple(rep(c) for c in conditions)
        sched = self.train_schedule
        t = torch.randint(0, sched.num_steps, (target.shape[0],), device=target.device)
        noise = torch.randn_like(target)
        acp = sched.take("acp", t, target)
        x_t = acp.sqrt() * target + (1 - acp).sqrt() * noise
        out = self.net(x_t, t, *conditions)
        x0_pred = out[..., :self.channels]
        mse = (x0_pred - target).square().mean(-1)

        # Variational term trains the variance only (mean detached), as in improved DDPM.
        frozen = torch.cat([x0_pred.detach(), out[..., self.channels:]], dim=-1)
        mean, logvar, _ = self._p_mean_logvar(sched, frozen, x_t, t)
        true_mean = sched.take("coef_x0", t, target) * target + sched.take("coef_xt", t, target) * x_t
        true_logvar = sched.take("posterior_logvar", t, target)
        kl = 0.5 * (-1.0 + logvar - true_logvar + torch.exp(true_logvar - logvar)
                    + (true_mean - mean).square() * torch.exp(-logvar))
        nll = 0.5 * (math.log(2 * math.pi) + logvar + (target - mean).square() * torch.exp(-logvar))
        first = (t == 0).view(-1, *([1] * (kl.ndim - 1)))
        vlb = torch.where(first, nll, kl).mean(-1) / math.log(2.0)
        per_item = mse + self.vlb_weight * sched.num_steps / 1000.0 * vlb
        if weight is None:
            return per_item.mean()
        weight = weight.float()
        return (per_item * weight).sum() / weight.sum().clamp(min=1.0)

    def _sample_loop(self, shape: tuple, conditions: tuple, temperature: float, steps: int,
                     generator: torch.Generator | None, noise: torch.Tensor | None,
                     device, dtype) -> torch.Tensor:
        """Ancestral sampling over the respaced schedule. ``noise`` (steps + 1, *shape): the
        starting point, then one standard-normal draw per step."""
        sched = self._sample_schedule(steps)
        if noise is None:
            noise = torch.randn(sched.num_steps + 1, *shape, generator=generator,
                                device=device, dtype=dtype)
        x = noise[0]
        n = shape[0]
        for i in reversed(range(sched.num_steps)):
            t = torch.full((n,), i, device=device, dtype=torch.long)
            t_net = torch.as_tensor(sched.timesteps, device=device)[t]
            out = self.net(x, t_net, *conditions)
            mean, logvar, _ = self._p_mean_logvar(sched, out, x, t)
            if i > 0:
                x = mean + torch.exp(0.5 * logvar) * noise[i + 1] * temperature
            else:
                x = mean
        return x

    def noise_draws(self, steps: int) -> int:
        """How many standard-normal draws per item ``sample`` uses."""
        return self._sample_schedule(steps).num_steps + 1


class DiffusionHead(GaussianHead):
    """The paper's head: every frame is denoised on its own, from its condition vector."""

    sees_past = False     # per-frame: knows nothing of the frames around it

    def __init__(self, channels: int, cond_dim: int, width: int, depth: int,
                 train_steps: int = 1000, batch_mul: int = 4, vlb_weight: float = 1e-3):
        super().__init__(channels, train_steps, batch_mul, vlb_weight)
        self.net = Denoiser(channels, cond_dim, width, depth)

    def loss(self, z: torch.Tensor, target: torch.Tensor,
             mask: torch.Tensor | None = None) -> torch.Tensor:
        """z (N, D) conditions, target (N, C) clean frames, mask (N,) 1 = counts. Scalar loss."""
        return self._hybrid_loss(target, mask, z)

    @torch.no_grad()
    def sample(self, z: torch.Tensor, temperature: float = 1.0, steps: int = 5,
               generator: torch.Generator | None = None,
               noise: torch.Tensor | None = None) -> torch.Tensor:
        """z (N, D) -> (N, C) samples.

        The randomness is ``noise`` (steps + 1, N, C): the starting point, then one draw per
        step; each row must be standard normal. Drawn from ``generator`` when not given.
        Callers may correlate rows across frames (see generate.py) without changing any
        single frame's distribution.
        """
        return self._sample_loop((z.shape[0], self.channels), (z,), temperature, steps,
                                 generator, noise, z.device, z.dtype)


class RegressionHead(nn.Module):
    """Ablation: a deterministic MLP regression head with the same two calls."""

    sees_past = False

    def __init__(self, channels: int, cond_dim: int, width: int, depth: int):
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(cond_dim, width), nn.SiLU()]
        for _ in range(max(depth - 1, 0)):
            layers += [nn.Linear(width, width), nn.SiLU()]
        layers.append(nn.Linear(width, channels))
        self.net = nn.Sequential(*layers)

    def loss(self, z, target, mask=None):
        per_item = (self.net(z) - target).square().mean(-1)
        if mask is None:
            return per_item.mean()
        mask = mask.float()
        return (per_item * mask).sum() / mask.sum().clamp(min=1.0)

    @torch.no_grad()
    def sample(self, z, temperature=1.0, steps=5, generator=None, noise=None):
        return self.net(z)

    def noise_draws(self, steps: int) -> int:
        return 1
