"""The procedural FLAME "teacher": plausible motion for both heads of a dialogue, driven
by their two speech tracks and calibrated on real FLAME statistics (:mod:`.stats`).

What it encodes, for each head (all at 25 fps):

- **Speech**: the jaw opens with the speaker's own loudness and voicing, leading the audio
  by ``LEAD_FRAMES`` (80 ms: motion at frame t follows audio at t+2). The expression moves
  along the real directions that co-vary with jaw opening and with voice loudness.
- **Prosody**: pitch accents in the speaker's own voice give small head nods and a brief
  expression pulse along a per-speaker direction of the real residual expression subspace.
- **Listening**: after the partner pauses or stresses a word, the listener nods and moves
  its expression along its own "reaction" direction (for most people a smile; the teacher
  does not claim to know which FLAME direction is which), 200-600 ms later.
- **Idle**: slow and fast noise on neck and on the real residual principal components, with
  the real variances; no blinks (FLAME's expression space does not close the eyelids).
- **Style**: expressiveness, articulation, nod rate, head-pose bias, reaction strength and
  directions hold for a whole dialogue, so history helps predict the next second.

Every component draws from its own random stream, so switching one cue off (e.g. a silent
partner) changes only that component; the tests rely on this.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..constants import MOTION_DIM, SAMPLES_PER_FRAME
from .features import SpeechFeatures, speech_features
from .stats import LEAD_FRAMES

NUM_STYLE_PCS = 8                     # reaction/emphasis directions live in the top PCs
REACT_LAG = (5, 15)                   # frames: 200-600 ms
JAW_OPEN_RANGE = (0.0, 0.4)
# The real clip the statistics come from reports a closed mouth at about 0.1 rad (a tracker
# offset: FLAME's closed mouth is jaw 0). The teacher's jaw rests at FLAME's 0, and the
# expression's coupling to jaw opening is read at the jaw value that clip would report.
TRACKER_JAW_OFFSET = 0.105
IDLE_SLOW, IDLE_FAST = 0.75, 0.45     # idle expression, x real residual std
NECK_SLOW, NECK_FAST = 0.7, 0.3       # idle head rotation, x real neck std


@dataclass
class Style:
    """Persistent per-speaker style for one dialogue."""

    expressiveness: float     # gain on non-speech expression
    articulation: float       # jaw opening (rad) at full loudness
    jaw_rest: float           # jaw opening (rad) at rest
    nod_rate: float           # chance to nod after a partner pause
    nod_amp: float            # nod depth (rad)
    speak_motion: float       # extra head motion while talking
    react: float              # reaction strength (in std units of the direction)
    head_bias: list[float]    # neck rotation offset (rad)
    expr_offset: list[float]  # static expression, in real residual-PC std units
    react_dir: list[float]    # unit vector over the top residual PCs
    emph_dir: list[float]

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else [round(x, 4) for x in v])
                for k, v in asdict(self).items()}


# Uniform ranges of the per-speaker style (see Style).
STYLE_RANGES = {
    "expressiveness": (0.7, 1.3), "articulation": (0.13, 0.22), "jaw_rest": (0.0, 0.02),
    "nod_rate": (0.4, 0.95), "nod_amp": (0.03, 0.08), "speak_motion": (0.5, 1.5),
    "react": (0.5, 1.6),
}
HEAD_BIAS_STD = 0.6       # x real neck std, around half the real mean
EXPR_OFFSET_STD = 0.35    # in real residual-PC std units


def random_style(rng: np.random.Generator, stats: dict[str, np.ndarray]) -> Style:
    def unit(k: int) -> list[float]:
        v = rng.standard_normal(k)
        return list(map(float, v / np.linalg.norm(v)))

    drawn = {k: float(rng.uniform(*r)) for k, r in STYLE_RANGES.items()}
    bias = stats["neck_mean"] * 0.5 + rng.normal(0, HEAD_BIAS_STD, 3) * stats["neck_std"]
    return Style(**drawn, head_bias=list(map(float, bias)),
                 expr_offset=list(map(float, rng.normal(0, EXPR_OFFSET_STD, NUM_STYLE_PCS))),
                 react_dir=unit(NUM_STYLE_PCS), emph_dir=unit(NUM_STYLE_PCS))


def teacher_parameters() -> dict:
    """The teacher's fixed settings, for the corpus manifest."""
    return {"lead_frames": LEAD_FRAMES, "react_lag_frames": list(REACT_LAG),
            "tracker_jaw_offset": TRACKER_JAW_OFFSET,
            "num_style_pcs": NUM_STYLE_PCS, "jaw_open_range": list(JAW_OPEN_RANGE),
            "style_ranges": {k: list(v) for k, v in STYLE_RANGES.items()},
            "head_bias_std_x_real": HEAD_BIAS_STD, "expr_offset_std": EXPR_OFFSET_STD,
            "idle_exp_gain": {"slow_sigma12": IDLE_SLOW, "fast_real_sigma": IDLE_FAST},
            "idle_neck_gain": {"slow_sigma20": NECK_SLOW, "fast_real_sigma": NECK_FAST}}


def smooth_noise(rng: np.random.Generator, frames: int, sigma, dims: int) -> np.ndarray:
    """(frames, dims) Gaussian-smoothed noise with unit std per column."""
    sig = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (dims,))
    pad = int(4 * sig.max()) + 1
    x = rng.standard_normal((frames + 2 * pad, dims))
    out = np.stack([gaussian_filter1d(x[:, d], sig[d]) for d in range(dims)], axis=1)[pad:-pad]
    return out / np.maximum(out.std(axis=0), 1e-8)


def bump(frames: int, start: int, length: int) -> np.ndarray:
    """(frames,) raised-cosine pulse of height 1 starting at ``start``."""
    out = np.zeros(frames)
    idx = np.arange(length)
    pulse = 0.5 * (1 - np.cos(2 * np.pi * (idx + 0.5) / length))
    keep = (start + idx >= 0) & (start + idx < frames)
    out[start + idx[keep]] = pulse[keep]
    return out


def pause_onsets(active: np.ndarray, min_gap: int = 5, min_speech: int = 10) -> np.ndarray:
    """Frames where a stretch of at least ``min_speech`` active frames ends in a pause of at
    least ``min_gap`` frames."""
    a = active > 0.5
    ends = np.flatnonzero(a[:-1] & ~a[1:]) + 1
    keep = [e for e in ends
            if e + min_gap <= len(a) and not a[e:e + min_gap].any()
            and e >= min_speech and a[e - min_speech:e].all()]
    return np.asarray(keep, dtype=int)


def accents(f: SpeechFeatures, spacing: int = 8) -> np.ndarray:
    """Frames of pitch accents: local maxima of loud voiced pitch 2+ semitones above the
    track's median."""
    v = f.f0 > 0
    if v.sum() < 10:
        return np.zeros(0, dtype=int)
    st = np.zeros_like(f.f0)
    st[v] = 12 * np.log2(f.f0[v] / np.median(f.f0[v]))
    prom = np.where(v & (f.env > 0.5), st, 0.0)
    prom = gaussian_filter1d(prom, 1.0)
    peaks = np.flatnonzero((prom[1:-1] > 2.0) & (prom[1:-1] >= prom[:-2]) & (prom[1:-1] > prom[2:])) + 1
    keep: list[int] = []
    for p in peaks:
        if not keep or p - keep[-1] >= spacing:
            keep.append(int(p))
    return np.asarray(keep, dtype=int)


def child(seed: np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    """The i-th child of ``seed``; unlike ``spawn`` it does not change ``seed``."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i))


def _streams(seed: np.random.SeedSequence) -> dict[str, np.random.Generator]:
    names = ("jaw", "idle_exp", "idle_neck", "emph", "react")
    return {n: np.random.default_rng(child(seed, i)) for i, n in enumerate(names)}


def head_motion(own: np.ndarray, partner: np.ndarray, style: Style,
                stats: dict[str, np.ndarray], seed: np.random.SeedSequence) -> np.ndarray:
    """(T, 56) motion of the head whose speech is ``own``, listening to ``partner``."""
    frames = len(own) // SAMPLES_PER_FRAME
    rng = _streams(seed)
    fo = speech_features(own, frames + LEAD_FRAMES)
    fp = speech_features(partner, frames)
    env = fo.env[LEAD_FRAMES:]                   # audio 80 ms ahead of the motion
    voiced = gaussian_filter1d(fo.voiced[LEAD_FRAMES:], 1.0)
    talking = gaussian_filter1d(fo.active[LEAD_FRAMES:], 6.0)

    pcs, sd = stats["resid_pcs"], np.sqrt(stats["resid_var"])
    k = NUM_STYLE_PCS

    # Jaw: opening follows loudness and voicing.
    mouth = gaussian_filter1d(env * (0.55 + 0.45 * voiced), 0.8)
    jaw = np.zeros((frames, 3))
    jaw[:, 0] = (style.jaw_rest + style.articulation * mouth
                 + 0.008 * smooth_noise(rng["jaw"], frames, 2.0, 1)[:, 0])
    jaw[:, 0] = np.clip(jaw[:, 0], *JAW_OPEN_RANGE)
    jaw[:, 1:] = stats["jaw_mean"][1:] + 0.5 * stats["jaw_std"][1:] * smooth_noise(
        rng["jaw"], frames, 3.0, 2)

    # Residual expression scores (in real PC units), then mapped to the 50 dims.
    ex = style.expressiveness
    scores = np.zeros((frames, len(sd)))
    scores[:, :k] += np.asarray(style.expr_offset)
    scores += IDLE_SLOW * ex * smooth_noise(rng["idle_exp"], frames, 12.0, len(sd))
    scores += IDLE_FAST * ex * smooth_noise(rng["idle_exp"], frames,
                                       np.maximum(stats["resid_smooth"], 1.5), len(sd))
    neck = np.asarray(style.head_bias) + NECK_SLOW * stats["neck_std"] * smooth_noise(
        rng["idle_neck"], frames, 20.0, 3)
    fast = smooth_noise(rng["idle_neck"], frames, stats["neck_smooth"], 3)
    neck += NECK_FAST * stats["neck_std"] * fast * (1.0 + style.speak_motion * talking[:, None])

    # Own pitch accents: a small nod and an expression pulse.
    emph_dir = np.zeros(len(sd))
    emph_dir[:k] = style.emph_dir
    for a in accents(fo) - LEAD_FRAMES:
        a = int(a)
        length = int(rng["emph"].integers(8, 14))
        pulse = bump(frames, a - length // 2, length)
        neck[:, 0] += 0.5 * style.nod_amp * style.speak_motion * pulse
        scores += np.outer(pulse, emph_dir) * ex * float(rng["emph"].uniform(0.5, 1.0))

    # Listening: nods and reaction after the partner's pauses and accents.
    react_dir = np.zeros(len(sd))
    react_dir[:k] = style.react_dir
    own_busy = fo.active[LEAD_FRAMES:] > 0.5
    events = [(int(e), style.nod_rate) for e in pause_onsets(fp.active)]
    events += [(int(e), 0.4 * style.nod_rate) for e in accents(fp)]
    for e, p in sorted(events):
        r = rng["react"]
        lag, length, depth, go = (int(r.integers(REACT_LAG[0], REACT_LAG[1] + 1)),
                                  int(r.integers(10, 17)), float(r.uniform(0.7, 1.3)), r.random())
        start = e + lag
        if go >= p or own_busy[max(start - 2, 0):start + 4].any():
            continue
        neck[:, 0] += style.nod_amp * depth * bump(frames, start, length)
        smile = bump(frames, start, int(2.5 * length))
        scores += np.outer(smile, react_dir) * style.react * depth

    exp = (stats["exp_mean"]
           + np.outer(jaw[:, 0] + TRACKER_JAW_OFFSET - stats["jaw_mean"][0], stats["exp_per_jaw"])
           + np.outer(ex * (env - stats["env_mean"]), stats["exp_per_env"])
           + (scores * sd) @ pcs)
    motion = np.concatenate([exp, jaw, neck], axis=1).astype(np.float32)
    assert motion.shape == (frames, MOTION_DIM)
    return motion


def dialogue_motion(tracks: np.ndarray, styles: tuple[Style, Style],
                    stats: dict[str, np.ndarray], seed: np.random.SeedSequence
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Motion of both heads ((T, 56) each) from the two tracks (2, N)."""
    s1, s2 = child(seed, 0), child(seed, 1)
    return (head_motion(tracks[0], tracks[1], styles[0], stats, s1),
            head_motion(tracks[1], tracks[0], styles[1], stats, s2))
