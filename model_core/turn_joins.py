"""How a freshly sampled turn joins the frames already emitted for its head.

Both are causal across turns: the emitted frames are read, never changed, so a head that
is already keyed in Blender never moves again.

- :class:`TurnFilter`: Gaussian smoothing of the new turn, joined to the previous turn. For
  the paper's per-frame head, whose frames are drawn independently (white noise on top of
  the motion); it blurs motion inside the turn too.
- :class:`SeamBlend`: inertialisation, as game engines blend between animation clips. The
  turn is shifted by the gap between where the head is heading (its last emitted frame plus
  its last velocity) and where the new turn starts, and the shift dies away as a critically
  damped spring over a few frames. The turn's own motion is untouched apart from that
  fading offset, so a turn that already continues its past is left as it is, and a seam
  (a jump at the boundary several times the typical frame-to-frame step) disappears.
"""
from __future__ import annotations

import math

import torch


class TurnFilter:
    """Gaussian smoothing of a new turn joined to the turn emitted before it. The turn's far
    end is held (edge padding). sigma in frames; 0 = off."""

    def __init__(self, sigma: float):
        self.sigma = float(sigma)
        if self.sigma > 0:
            radius = int(math.ceil(3 * self.sigma))
            x = torch.arange(-radius, radius + 1, dtype=torch.float32)
            kernel = torch.exp(-0.5 * (x / self.sigma) ** 2)
            self.kernel = kernel / kernel.sum()
            self.radius = radius

    def __call__(self, turn: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
        """turn (A, F, C), previous (A, F', C) or None -> smoothed turn (A, F, C)."""
        if self.sigma <= 0:
            return turn
        r, f = self.radius, turn.shape[1]
        before = previous[:, -r:] if previous is not None else turn[:, :1].expand(-1, r, -1)
        if before.shape[1] < r:
            before = torch.cat([before[:, :1].expand(-1, r - before.shape[1], -1), before], 1)
        after = turn[:, -1:].expand(-1, r, -1)
        x = torch.cat([before, turn, after], dim=1)                 # (A, F + 2r, C)
        a, length, c = x.shape
        x = x.permute(0, 2, 1).reshape(a * c, 1, length)
        out = torch.nn.functional.conv1d(x, self.kernel.to(x).view(1, 1, -1))
        return out.view(a, c, f).permute(0, 2, 1).contiguous()


class SeamBlend:
    """Inertialisation of a new turn onto the emitted frames; ``frames`` is the spring's time
    constant (the offset is down to 5% after about 5x that); 0 = off."""

    def __init__(self, frames: float):
        self.frames = float(frames)

    def __call__(self, turn: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
        """turn (A, F, C), previous (A, F', C) or None -> blended turn (A, F, C)."""
        if self.frames <= 0 or previous is None or previous.shape[1] < 2 or turn.shape[1] < 2:
            return turn
        velocity = previous[:, -1] - previous[:, -2]                 # (A, C)
        offset = previous[:, -1] + velocity - turn[:, 0]              # position gap at frame 0
        offset_velocity = velocity - (turn[:, 1] - turn[:, 0])       # velocity gap at frame 0
        t = torch.arange(turn.shape[1], dtype=turn.dtype, device=turn.device)[None, :, None]
        tau = self.frames
        # Critically damped: c(0) = offset, c'(0) = offset_velocity, c -> 0.
        correction = (offset[:, None] + (offset_velocity[:, None] + offset[:, None] / tau) * t) \
            * torch.exp(-t / tau)
        return turn + correction
