"""DualTalk baseline (Peng et al., CVPR 2025): a non-causal, full-sequence model.

Written from the paper's description: speech features of both speakers; the partner's
speech attends to the partner's motion (cross attention); a bidirectional LSTM runs over
that fusion; a 3-layer transformer runs over [own speech ++ fused partner features]; a
one-layer transformer decoder and a linear layer produce the 56-vector per frame. Loss:
MSE plus a velocity (frame difference) MSE.

Everything sees the whole clip at once, so early frames depend on later audio and motion:
this is the contrast with TIMAR's turn-causal model. The speech front end is TIMAR's
parameter-free log-mel (``model_core.speech.logmel.LogMelFrontEnd``), so the comparison is about
the architecture, not the speech features. Motion is normalised per dimension with buffers
set from the training data (``set_motion_stats``); losses are in normalised units.

Training interface shared with TIMAR: ``training_loss(batch) -> (loss, logs)`` and
``predict(audio_agent, audio_user, motion_user) -> (F, 56)``.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..constants import MOTION_DIM, SAMPLES_PER_FRAME
from ..errors import CheckpointError
from ..speech.logmel import LogMelFrontEnd

CHECKPOINT_KIND = "dualtalk_baseline"


@dataclass
class DualTalkConfig:
    """Sizes of the baseline; saved whole in its checkpoint."""
    width: int = 256              # d: speech/motion features; the interaction runs at 2d
    heads: int = 4
    lstm_layers: int = 2
    encoder_layers: int = 3
    decoder_layers: int = 1
    dropout: float = 0.1
    n_mels: int = 64
    velocity_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.width % 2 or self.width % self.heads:
            raise ValueError(f"width {self.width} must be even and divisible by heads {self.heads}")

    @classmethod
    def from_dict(cls, values: dict) -> "DualTalkConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown DualTalkConfig fields {unknown}")
        return cls(**values)


# Named sizes: "paper" is DualTalk's feature width 256 (interaction at 512); "tiny" for tests.
PRESETS: dict[str, dict] = {
    "tiny": dict(width=32, heads=2, lstm_layers=1, dropout=0.0, n_mels=16),
    "paper": dict(),
}


def preset(name: str, **overrides) -> DualTalkConfig:
    """A DualTalkConfig from a named size, with field overrides."""
    if name not in PRESETS:
        raise ValueError(f"unknown DualTalk preset {name!r}; choose one of {sorted(PRESETS)}")
    return DualTalkConfig(**{**PRESETS[name], **overrides})


def _speech_encoder(feat_dim: int, width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(feat_dim, width), nn.GELU(), nn.Linear(width, width))


class DualTalkBaseline(nn.Module):
    """Full-sequence DualTalk-style baseline over (B, F) frames."""

    def __init__(self, config: DualTalkConfig | None = None):
        super().__init__()
        self.config = cfg = config or DualTalkConfig()
        d = cfg.width
        self.frontend = LogMelFrontEnd(cfg.n_mels)
        self.speech_agent = _speech_encoder(self.frontend.feat_dim, d)
        self.speech_user = _speech_encoder(self.frontend.feat_dim, d)
        self.motion_enc = nn.Sequential(nn.Linear(MOTION_DIM, d // 2), nn.ReLU(),
                                        nn.Linear(d // 2, d), nn.ReLU())
        self.cross = nn.MultiheadAttention(d, cfg.heads, dropout=cfg.dropout, batch_first=True)
        self.lstm = nn.LSTM(d, d // 2, num_layers=cfg.lstm_layers, bidirectional=True,
                            batch_first=True)
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(2 * d, cfg.heads, 4 * d, cfg.dropout, batch_first=True),
            cfg.encoder_layers, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(2 * d, cfg.heads, 4 * d, cfg.dropout, batch_first=True),
            cfg.decoder_layers)
        self.out = nn.Linear(2 * d, MOTION_DIM)
        self.register_buffer("motion_mean", torch.zeros(MOTION_DIM))
        self.register_buffer("motion_std", torch.ones(MOTION_DIM))

    @property
    def device(self) -> torch.device:
        return self.motion_mean.device

    # ------------------------------------------------------------------ normalisation
    def set_motion_stats(self, mean, std) -> None:
        """Per-dimension mean and std of training motion (56,); std is floored at 1e-4."""
        mean = torch.as_tensor(np.asarray(mean), dtype=torch.float32).reshape(MOTION_DIM)
        std = torch.as_tensor(np.asarray(std), dtype=torch.float32).reshape(MOTION_DIM)
        self.motion_mean.copy_(mean)
        self.motion_std.copy_(std.clamp(min=1e-4))

    def normalize(self, motion: torch.Tensor) -> torch.Tensor:
        return (motion - self.motion_mean) / self.motion_std

    def denormalize(self, motion: torch.Tensor) -> torch.Tensor:
        return motion * self.motion_std + self.motion_mean

    # ------------------------------------------------------------------ model
    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """The training loss (so DistributedDataParallel can wrap the model, as TIMAR's)."""
        return self.training_loss(batch)

    def motion_from(self, audio_agent: torch.Tensor, audio_user: torch.Tensor,
                    motion_user: torch.Tensor) -> torch.Tensor:
        """(B, F*640) speech of both, (B, F, 56) partner motion (raw) -> (B, F, 56) normalised."""
        frames = motion_user.shape[1]
        a = self.speech_agent(self.frontend(audio_agent)[:, :frames])        # (B, F, d)
        u = self.speech_user(self.frontend(audio_user)[:, :frames])          # (B, F, d)
        m = self.motion_enc(self.normalize(motion_user))                     # (B, F, d)
        fused, _ = self.cross(u, m, m, need_weights=False)                  # (B, F, d)
        temporal, _ = self.lstm(fused)                                       # (B, F, d)
        x = self.encoder(torch.cat([a, temporal], dim=-1))                   # (B, F, 2d)
        x = self.decoder(x, x)                                               # (B, F, 2d)
        return self.out(x)                                                   # (B, F, 56)

    def training_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """MSE + velocity MSE (normalised units) of agent motion given both speeches and
        the partner's real motion. batch: audio_agent/audio_user (B, F*640),
        motion_agent/motion_user (B, F, 56)."""
        dev = self.device
        pred = self.motion_from(batch["audio_agent"].to(dev).float(),
                                batch["audio_user"].to(dev).float(),
                                batch["motion_user"].to(dev).float())
        target = self.normalize(batch["motion_agent"].to(dev).float())
        mse = F.mse_loss(pred, target)
        vel = F.mse_loss(pred[:, 1:] - pred[:, :-1], target[:, 1:] - target[:, :-1])
        loss = mse + self.config.velocity_weight * vel
        return loss, {"loss": float(loss.detach()), "mse": float(mse.detach()),
                      "vel": float(vel.detach())}

    @torch.no_grad()
    def predict(self, audio_agent: np.ndarray, audio_user: np.ndarray,
                motion_user: np.ndarray | None) -> np.ndarray:
        """One whole clip: 1-D speech arrays at 16 kHz and (F, 56) partner motion -> (F, 56).

        F is the partner motion's length, or len(audio_agent) // 640 when the partner's
        motion is unknown (None), in which case the training mean stands in for it.
        Audio is cut or zero-padded to F * 640 samples.
        """
        device = self.device
        if motion_user is None:
            frames = len(audio_agent) // SAMPLES_PER_FRAME
            mu = self.motion_mean[None, None].expand(1, frames, MOTION_DIM)
        else:
            frames = len(motion_user)
            mu = torch.as_tensor(np.asarray(motion_user, np.float32), device=device)[None]
        n = frames * SAMPLES_PER_FRAME

        def fit(x: np.ndarray) -> torch.Tensor:
            x = np.asarray(x, dtype=np.float32)[:n]
            x = np.pad(x, (0, n - len(x)))
            return torch.as_tensor(x, device=device)[None]

        was_training = self.training
        self.eval()
        try:
            out = self.denormalize(self.motion_from(fit(audio_agent), fit(audio_user), mu))
        finally:
            self.train(was_training)
        return out[0].float().cpu().numpy()


def save_baseline(path: str | os.PathLike, model: DualTalkBaseline, meta: dict | None = None) -> None:
    """Write config, weights and ``meta`` (plain data only, loadable with
    ``weights_only=True``). Its signature fits ``Trainer``'s ``save_fn``."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    tmp = path + ".tmp"
    torch.save({"kind": CHECKPOINT_KIND, "config": asdict(model.config), "state_dict": state,
                "meta": dict(meta or {})}, tmp)
    os.replace(tmp, path)


def load_baseline(path: str | os.PathLike, device: str | torch.device = "cpu") -> DualTalkBaseline:
    """Rebuild a DualTalk baseline from ``save_baseline``'s file; raises CheckpointError."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"baseline checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable, safe torch checkpoint ({exc})") from None
    if not isinstance(ckpt, dict) or ckpt.get("kind") != CHECKPOINT_KIND:
        raise CheckpointError(f"{path}: not a DualTalk baseline checkpoint "
                              f"(kind={ckpt.get('kind') if isinstance(ckpt, dict) else None!r})")
    try:
        model = DualTalkBaseline(DualTalkConfig.from_dict(ckpt["config"]))
        model.load_state_dict(ckpt["state_dict"])
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path}: config and weights do not match ({exc})") from None
    model.meta = dict(ckpt.get("meta", {}))
    return model.to(device).eval()


class DualTalkMethod:
    """The evaluation runner's view of a trained baseline: one full-clip pass per agent clip.
    When the partner's motion is unknown the training mean stands in for it."""

    context = None

    def __init__(self, model: DualTalkBaseline, name: str = "DualTalk"):
        self.model = model
        self.name = name

    def predict(self, clip) -> np.ndarray:
        """``clip``: a ``model_core.evaluation.protocol.AgentClip``."""
        return self.model.predict(clip.audio_agent, clip.audio_user, clip.motion_user)
