"""How big a model a config describes, computed from the config alone (nothing is built).

A checkpoint's config decides what :class:`~model_core.model.TimarModel` allocates before a
single stored weight is compared with it, so a small file whose config says width 8192 x
depth 256 (each field within its own limit) would take all memory. The product is what
matters: :func:`parameter_count` adds up every layer the config builds, and
:func:`turn_activation_floats` the largest working set of one generated turn (attention
scores over the window, the key/value cache, the MLP), and :func:`check_model_size` refuses
their sum above :data:`MAX_MODEL_BYTES` in microseconds."""
from __future__ import annotations

from .config import TimarConfig
from .constants import MOTION_DIM, NUM_MARKERS, TOKENS_PER_TURN, TURN_FRAMES
from .errors import CheckpointError

# float32 parameters plus one turn's activations. The largest TIMAR model (the paper's
# 1024 x 32, about 0.43 G parameters) needs about 2 GB; four times that is refused.
MAX_MODEL_BYTES = 8 << 30
BYTES_PER_FLOAT = 4
MELS_PER_FRAME = 4                   # log-mel front end: 4 STFT hops per motion frame
WAV2VEC2_FEATURES = 1024             # wav2vec2-large hidden size, when the config says 0
TIME_FREQS = 256                     # diffusion time embedding's sinusoid size
AGENTS = 2                           # both heads are generated in one batch


def _linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def _speech_features(c: TimarConfig) -> int:
    if c.speech_frontend == "logmel":
        return MELS_PER_FRAME * c.n_mels
    return c.speech_feat_dim or WAV2VEC2_FEATURES


def _encoder(c: TimarConfig) -> int:
    d, hidden = c.width, int(c.width * c.mlp_ratio)
    feats = _speech_features(c)
    if c.speech_frontend == "logmel":
        speech = 2 * feats + _linear(feats, d) + _linear(d, d)
    else:
        speech = _linear(feats, d)
    motion = _linear(MOTION_DIM, d // 2) + _linear(d // 2, d)
    tokens = NUM_MARKERS * d + 2 * d + _linear(d, d) + 2 * d
    window = c.window_turns * TOKENS_PER_TURN
    positions = TOKENS_PER_TURN * d if c.positions == "rotary" else 2 * window * d
    block = 4 * d + _linear(d, 3 * d) + _linear(d, d) + _linear(d, hidden) + _linear(hidden, d)
    return speech + motion + tokens + positions + c.depth * block + 2 * d


def _head(c: TimarConfig) -> int:
    w, d = c.diff_width, c.width
    if c.head == "mlp":
        return _linear(d, w) + (c.diff_depth - 1) * _linear(w, w) + _linear(w, MOTION_DIM)
    time = _linear(TIME_FREQS, w) + _linear(w, w)
    final = _linear(w, 2 * MOTION_DIM) + _linear(w, 2 * w)
    inputs = _linear(d, w) + _linear(MOTION_DIM, w)
    if c.head == "diffusion":
        block = 2 * w + 2 * _linear(w, w) + _linear(w, 3 * w)
        return time + inputs + c.diff_depth * block + final
    block = _linear(w, 3 * w) + _linear(w, w) + _linear(w, 2 * w) + _linear(2 * w, w) \
        + _linear(w, 6 * w)
    past = _linear(MOTION_DIM, w) + w + (c.past_frames + TURN_FRAMES) * w
    return time + inputs + past + c.diff_depth * block + final


def parameter_count(config: TimarConfig) -> int:
    """Learned values the config's model holds (weights and biases of every layer)."""
    return _encoder(config) + _head(config) + 2 * MOTION_DIM


def turn_activation_floats(config: TimarConfig) -> int:
    """Floats one generated turn holds at its peak: for both heads, the attention scores
    and MLP activations of one block over the whole window, and every block's keys and
    values (the cache, or a recomputed window)."""
    c = config
    tokens = c.window_turns * TOKENS_PER_TURN
    scores = c.heads * tokens * tokens
    block = tokens * (4 * c.width + int(c.width * c.mlp_ratio))
    cache = c.depth * 2 * tokens * c.width
    head = c.diff_batch_mul * TURN_FRAMES * c.diff_width * 8
    return AGENTS * (scores + block + cache + head)


def model_bytes(config: TimarConfig) -> int:
    return BYTES_PER_FLOAT * (parameter_count(config) + turn_activation_floats(config))


def check_model_size(config: TimarConfig, source: str) -> None:
    """CheckpointError when the config's model and one turn need more than MAX_MODEL_BYTES."""
    need = model_bytes(config)
    if need > MAX_MODEL_BYTES:
        raise CheckpointError(
            f"{source}: its config describes a model of {parameter_count(config) / 1e9:,.2f} G "
            f"parameters (width {config.width} x depth {config.depth}, window "
            f"{config.window_turns} turns) that needs {need / 2**30:,.0f} GB to run, more than "
            f"the {MAX_MODEL_BYTES >> 30} GB limit; the file is damaged or not a TIMAR checkpoint")
