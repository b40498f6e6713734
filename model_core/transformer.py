"""Pre-norm transformer blocks on ``scaled_dot_product_attention`` with rotary encoding of
each token's time and an explicit key/value cache of past turns.

Rotary angles depend on absolute time, so attention between two tokens depends only on
their time difference: cropping old turns from the left changes nothing for the rest, and
a cached key stays valid as the window slides.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F


def rotary_tables(positions: torch.Tensor, head_dim: int, base: float = 10000.0):
    """cos, sin tables (L, head_dim // 2) for integer positions (L,)."""
    half = head_dim // 2
    inv_freq = base ** (-torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    angles = positions.float()[:, None] * inv_freq[None]
    return torch.cos(angles), torch.sin(angles)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (B, H, L, Dh); rotate pairs (first half, second half) by the angle tables."""
    x1, x2 = x.chunk(2, dim=-1)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Attention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.head_dim = width // heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x, mask, rope=None, past=None, queries=None):
        """x (B, L, D); mask (L, Lpast + L) bool; past (k, v) each (B, H, Lpast, Dh);
        queries: optional index of the tokens whose output is wanted (default all).

        Returns the output (B, Lq, D) and this call's new (k, v) for the cache.
        """
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        if rope is not None:
            q = apply_rotary(q, *rope)
            k = apply_rotary(k, *rope)
        new_kv = (k, v)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        if queries is not None:
            q, mask = q[:, :, queries], mask[queries]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(out.transpose(1, 2).reshape(b, q.shape[2], d)), new_kv


class Mlp(nn.Module):
    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """ViT-style pre-norm block (names match the reference release)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp = Mlp(width, int(width * mlp_ratio))

    def forward(self, x, mask, rope=None, past=None, queries=None):
        """``queries`` limits the output to some tokens (keys/values still cover all):
        the last block only needs the outputs that are read."""
        h, new_kv = self.attn(self.norm1(x), mask, rope, past, queries)
        x = (x if queries is None else x[:, queries]) + h
        return x + self.mlp(self.norm2(x)), new_kv


@dataclass
class KVCache:
    """Keys and values of committed past turns, per layer, with the turn of each key."""

    keys: list = field(default_factory=list)       # per layer (B, H, L, Dh)
    values: list = field(default_factory=list)
    turns: torch.Tensor | None = None               # (L,) turn index of each cached token

    def __len__(self) -> int:
        return 0 if self.turns is None else int(self.turns.numel())

    def layer(self, i: int):
        return None if self.turns is None else (self.keys[i], self.values[i])

    def append(self, new_kv: list, turns: torch.Tensor) -> None:
        if self.turns is None:
            self.keys = [k for k, _ in new_kv]
            self.values = [v for _, v in new_kv]
            self.turns = turns
            return
        self.keys = [torch.cat([old, k], dim=2) for old, (k, _) in zip(self.keys, new_kv)]
        self.values = [torch.cat([old, v], dim=2) for old, (_, v) in zip(self.values, new_kv)]
        self.turns = torch.cat([self.turns, turns])

    def drop_before(self, first_turn: int) -> None:
        """Forget turns older than ``first_turn`` (they fell out of every future band)."""
        if self.turns is None:
            return
        keep = self.turns >= first_turn
        if bool(keep.all()):
            return
        start = int((~keep).sum())          # turns are sorted: drop a prefix
        self.keys = [k[:, :, start:] for k in self.keys]
        self.values = [v[:, :, start:] for v in self.values]
        self.turns = self.turns[start:]
