"""One config dataclass for the whole model, saved inside every checkpoint, and the named
size presets that feed the CLI's ``--preset`` choices."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

# Sizes that must be whole numbers of at least 1 (0 or less divides by zero or builds an
# empty model); speech_feat_dim may be 0 ("derive from the front end").
POSITIVE_INTS = ("width", "depth", "heads", "window_turns", "n_mels", "diff_width",
                 "diff_depth", "diff_heads", "diff_train_steps", "diff_sample_steps",
                 "diff_batch_mul")


def _type_problem(kind: str, value) -> str | None:
    """Why ``value`` cannot be a field annotated ``kind`` (None: it can)."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "int":
        return None if is_int else f"must be a whole number, got {value!r}"
    if kind == "float":
        ok = (is_int or isinstance(value, float)) and math.isfinite(value)
        return None if ok else f"must be a finite number, got {value!r}"
    if kind == "str":
        return None if isinstance(value, str) else f"must be text, got {value!r}"
    if kind == "bool":
        return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
    if kind.startswith("tuple"):
        ok = isinstance(value, (list, tuple)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value)
        return None if ok else f"must be a list of whole numbers, got {value!r}"
    return None


@dataclass
class TimarConfig:
    # Transformer (encoder-only, pre-norm blocks).
    width: int = 192
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    window_turns: int = 8                # current turn + up to 7 previous turns
    attention: str = "turn_causal"       # "turn_causal" | "full" (ablation: bidirectional)
    positions: str = "rotary"            # "rotary" (time in frames; cacheable) | "absolute" (official)

    # Speech front end.
    speech_frontend: str = "logmel"      # "logmel" | "wav2vec2" (official weights)
    n_mels: int = 64
    speech_feat_dim: int = 0             # filled in from the front end (0 = derive)

    # Prediction head.
    # "trajectory": each turn's 25 frames denoised together, continuing the head's last
    # emitted frames (the product default); "diffusion": the paper's per-frame head (the
    # official weights); "mlp": ablation, deterministic regression.
    head: str = "diffusion"
    diff_width: int = 256
    diff_depth: int = 3
    diff_heads: int = 4                  # trajectory head: attention heads
    past_frames: int = 8                 # trajectory head: emitted frames it continues from
    past_noise: float = 0.1              # training: noise on those frames (normalised units)
    past_drop_prob: float = 0.1          # training: turns shown no past at all
    diff_train_steps: int = 1000
    diff_sample_steps: int = 5
    diff_batch_mul: int = 4              # noise draws per target frame in training

    # Training-time behaviour that is part of the model's definition.
    mask_ratio_min: float = 0.7          # agent-motion masking ratio ~ truncnorm(1.0, 0.25) in [0.7, 1]
    cond_drop_prob: float = 0.1          # a user token -> learned "fake" embedding
    unknown_partner_prob: float = 0.3    # a whole turn of partner motion -> "unknown"
    train_contexts: tuple[int, ...] = (0, 1, 3, 7)   # band widths sampled in training
    normalize_motion: bool = True        # per-dim mean/std buffers, set from the training data

    # Lip sync: a small network on speech features that outputs ARKit-52 weights and
    # viseme probabilities per frame (model_core/mouth.py); its jaw replaces the FLAME jaw.
    # It reads the causal log-mel ("logmel") or Whisper base's encoder ("whisper": layer
    # mouth_whisper_layer, a window of mouth_whisper_window seconds per turn ending 80 ms
    # after it; OpenAI's weights, never stored in the checkpoint).
    mouth: bool = False
    mouth_width: int = 128
    mouth_frontend: str = "logmel"
    mouth_whisper_layer: int = 4
    mouth_whisper_window: float = 2.0

    def __post_init__(self) -> None:
        for name in POSITIVE_INTS:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
        if not isinstance(self.speech_feat_dim, int) or self.speech_feat_dim < 0:
            raise ValueError(f"speech_feat_dim must be 0 or more, got {self.speech_feat_dim!r}")
        if not 0.0 < self.mlp_ratio <= 64.0:
            raise ValueError(f"mlp_ratio must be above 0 and at most 64, got {self.mlp_ratio!r}")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
        if (self.width // self.heads) % 2:
            raise ValueError("head dimension must be even for rotary encoding")
        for name, allowed in (("attention", ("turn_causal", "full")),
                              ("positions", ("rotary", "absolute")),
                              ("head", ("diffusion", "mlp", "trajectory")),
                              ("speech_frontend", ("logmel", "wav2vec2")),
                              ("mouth_frontend", ("logmel", "whisper"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        self.train_contexts = tuple(int(c) for c in self.train_contexts)
        if not 0 <= self.past_frames <= 25:
            raise ValueError(f"past_frames must be between 0 and 25 (one turn), got {self.past_frames}")
        if self.mouth and self.speech_frontend != "logmel":
            raise ValueError("the mouth head needs the log-mel front end's turn streaming")
        if not 1 <= self.mouth_whisper_layer <= 6:
            raise ValueError(f"mouth_whisper_layer must be 1..6 (Whisper base), got {self.mouth_whisper_layer}")
        before = round(self.mouth_whisper_window * 16_000) - 16_000 - 1280   # less the turn, 80 ms
        if before < 0 or before % 320 or before + 17_280 > 480_000:
            raise ValueError("mouth_whisper_window must hold the 1 s turn and 80 ms after it, in "
                             f"steps of 20 ms, at most 30 s (e.g. 2.0 or 1.28), got {self.mouth_whisper_window}")
        if not 0.0 < self.mask_ratio_min <= 1.0:
            raise ValueError(f"mask_ratio_min must be in (0, 1], got {self.mask_ratio_min}")

    @property
    def max_context(self) -> int:
        return self.window_turns - 1

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TimarConfig":
        """A config from saved values, each checked against its field's type first (a
        checkpoint is data from outside: ``"heads": "4"`` or ``"width": 64.5`` is refused
        with its name, not turned into a traceback deep inside the model)."""
        if not all(isinstance(k, str) for k in values):
            odd = [repr(k) for k in values if not isinstance(k, str)][:4]
            raise ValueError(f"config field names must be text, got {', '.join(odd)}")
        kinds = {f.name: str(f.type) for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(kinds))
        if unknown:
            raise ValueError(f"unknown config fields {unknown}")
        for name, value in values.items():
            problem = _type_problem(kinds[name], value)
            if problem:
                raise ValueError(f"{name} {problem}")
        return cls(**values)


PRESETS: dict[str, dict] = {
    # Tests: seconds on a CPU.
    "tiny": dict(width=64, depth=2, heads=2, n_mels=32, head="trajectory", diff_width=64,
                 diff_depth=2, diff_heads=2, diff_batch_mul=2, mask_ratio_min=1.0),
    # The bundled model: far faster than real time on a 2-core CPU. Whole turns are
    # sampled, so all of a turn's agent frames are masked in training as at inference.
    "small": dict(width=192, depth=4, heads=4, n_mels=64, head="trajectory", diff_width=192,
                  diff_depth=3, diff_heads=4, diff_batch_mul=2, mask_ratio_min=1.0),
    # The paper's width 1024 x 32 blocks (16 heads), diffusion head 1024 x 3.
    "large": dict(width=1024, depth=32, heads=16, n_mels=80, diff_width=1024, diff_depth=3),
}


def preset(name: str, **overrides) -> TimarConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return TimarConfig(**{**PRESETS[name], **overrides})
