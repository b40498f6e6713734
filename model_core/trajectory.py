"""Trajectory head: a turn's 25 frames denoised together, continuing the frames already
emitted for that head.

The paper's head draws every frame on its own from its condition vector, so each frame has
the right distribution but knows nothing of its neighbours: white noise on top of the
motion (measured on the bundled small model: neck velocity 13x real, 71% of its energy
above 4 Hz). This head instead denoises the whole (25, 56) block of a turn jointly with a
small bidirectional transformer over

    [the last ``past_frames`` emitted frames of this head] ++ [the turn's 25 noisy frames]

where each current frame also carries the TIMAR transformer's output at its agent-motion
slot. The emitted frames are clean context, never denoised; they make the turn start where
the last one ended (DiffPoseTalk conditions each window on the previous window's motion the
same way). Time (the diffusion step) enters every block through adaLN; the output layer
predicts x0 and the learned variance range of the current frames, so the diffusion process
is exactly the per-frame head's (:class:`~model_core.diffusion.GaussianHead`).

Training sees the agent's real previous frames with a little noise added and sometimes none
at all (the first turn of a dialogue has no past), so at inference its own slightly wrong
samples do not feed back and drift.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .diffusion import FinalLayer, GaussianHead, TimestepEmbedder


class AdaLNBlock(nn.Module):
    """Pre-norm self-attention + MLP block whose norms are modulated (shift, scale, gate) by
    the diffusion time embedding; gates start at zero so the block starts as identity."""

    def __init__(self, width: int, heads: int, mlp_ratio: float = 2.0):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))
        nn.init.zeros_(self.adaLN_modulation[-1].weight)
        nn.init.zeros_(self.adaLN_modulation[-1].bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """x (N, L, W) tokens, c (N, W) time embedding."""
        n, length, w = x.shape
        shift1, scale1, gate1, shift2, scale2, gate2 = self.adaLN_modulation(c)[:, None].chunk(6, -1)
        h = self.norm1(x) * (1 + scale1) + shift1
        q, k, v = self.qkv(h).view(n, length, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        h = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, length, w)
        x = x + gate1 * self.proj(h)
        h = self.norm2(x) * (1 + scale2) + shift2
        return x + gate2 * self.mlp(h)


class TrajectoryDenoiser(nn.Module):
    """x_t (N, F, C), t (N,), z (N, F, D), past (N, P, C), past_valid (N,) -> (N, F, 2C)."""

    def __init__(self, channels: int, cond_dim: int, width: int, depth: int, heads: int,
                 frames: int, past_frames: int):
        super().__init__()
        self.past_frames = past_frames
        self.time_embed = TimestepEmbedder(width)
        self.cond_embed = nn.Linear(cond_dim, width)
        self.input_proj = nn.Linear(channels, width)
        self.past_proj = nn.Linear(channels, width)
        self.no_past = nn.Parameter(torch.zeros(1, 1, width))        # "nothing emitted yet"
        self.pos_embed = nn.Parameter(torch.zeros(1, past_frames + frames, width))
        self.blocks = nn.ModuleList(AdaLNBlock(width, heads) for _ in range(depth))
        self.final_layer = FinalLayer(width, 2 * channels)
        nn.init.normal_(self.no_past, std=0.02)
        nn.init.normal_(self.pos_embed, std=0.02)
        for layer in (self.final_layer.adaLN_modulation[-1], self.final_layer.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, z: torch.Tensor, past: torch.Tensor,
                past_valid: torch.Tensor) -> torch.Tensor:
        c = self.time_embed(t)                                          # (N, W)
        current = self.input_proj(x) + self.cond_embed(z)               # (N, F, W)
        before = self.past_proj(past)                                   # (N, P, W)
        before = torch.where(past_valid[:, None, None], before, self.no_past.to(before.dtype))
        h = torch.cat([before, current], dim=1) + self.pos_embed        # (N, P + F, W)
        for block in self.blocks:
            h = block(h, c)
        return self.final_layer(h[:, self.past_frames:], c[:, None])    # (N, F, 2C)


class TrajectoryHead(GaussianHead):
    """Two calls, like the per-frame head, on whole turns:

    - ``loss(z, target, past, past_valid, weight)``
    - ``sample(z, past, past_valid, temperature, steps, generator, noise)``
    """

    sees_past = True

    def __init__(self, channels: int, cond_dim: int, width: int, depth: int, heads: int,
                 frames: int, past_frames: int, train_steps: int = 1000, batch_mul: int = 2,
                 vlb_weight: float = 1e-3):
        super().__init__(channels, train_steps, batch_mul, vlb_weight)
        self.frames = frames
        self.past_frames = past_frames
        self.net = TrajectoryDenoiser(channels, cond_dim, width, depth, heads, frames, past_frames)

    def loss(self, z: torch.Tensor, target: torch.Tensor, past: torch.Tensor,
             past_valid: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """z (N, F, D) conditions, target (N, F, C) clean turns, past (N, P, C) the frames
        before each turn, past_valid (N,) bool, weight (N, F) 1 = frame counts."""
        return self._hybrid_loss(target, weight, z, past, past_valid)

    @torch.no_grad()
    def sample(self, z: torch.Tensor, past: torch.Tensor, past_valid: torch.Tensor,
               temperature: float = 1.0, steps: int = 5,
               generator: torch.Generator | None = None,
               noise: torch.Tensor | None = None) -> torch.Tensor:
        """z (N, F, D) -> (N, F, C): one turn per row, continuing ``past`` where valid.
        ``noise``: (steps + 1, N, F, C) standard normal, drawn from ``generator`` if None."""
        shape = (z.shape[0], self.frames, self.channels)
        return self._sample_loop(shape, (z, past, past_valid), temperature, steps,
                                 generator, noise, z.device, z.dtype)
