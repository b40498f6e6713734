"""Real FLAME motion statistics that calibrate the procedural teacher.

``python -m model_core corpus --stats-from DIR --stats-out assets/flame_motion_stats.npz``
reads every ``<id>_speakerN.npz`` (with its ``.wav``) in DIR, here the real DualTalk demo
dialogue, and saves only summary statistics (no frames):

- ``exp_mean`` (50,), ``exp_std`` (50,): per-dimension mean and spread of the expression.
- ``jaw_mean`` (3,), ``jaw_std`` (3,), ``jaw_min``/``jaw_max`` (3,): jaw rotation.
- ``neck_mean``/``neck_std``/``neck_diff_std`` (3,): head rotation and its frame-to-frame spread.
- ``exp_per_jaw`` (50,), ``exp_per_env`` (50,): least-squares directions of expression
  per radian of jaw opening and per unit of the speaker's own loudness envelope (taken
  ``LEAD_FRAMES`` ahead, mean ``env_mean``): the expression that co-varies with talking.
- ``resid_pcs`` (K, 50), ``resid_var`` (K,), ``resid_smooth`` (K,): principal directions,
  variances and temporal smoothness (Gaussian sigma in frames) of what the jaw and voice do
  not explain, for idle and reactive expression drawn in the real subspace.
- ``pcs`` (K, 50), ``pc_var`` (K,): principal directions of the whole expression.
"""
from __future__ import annotations

import glob
import os
from pathlib import Path

import numpy as np

from ..assets import motion_stats
from ..constants import EXP, JAW, NECK
from ..errors import TimarError
from ..face import flame
from ..speech.audio import load_audio
from .features import speech_features

LEAD_FRAMES = 2          # the jaw leads the voice by 80 ms
NUM_PCS = 20
DEFAULT_STATS = motion_stats()


def smooth_sigma(scores: np.ndarray) -> np.ndarray:
    """Gaussian smoothing width (frames) whose white-noise output has the same ratio of
    frame-difference spread to spread as each column of ``scores``."""
    ratio = np.diff(scores, axis=0).std(axis=0) / np.maximum(scores.std(axis=0), 1e-8)
    rho1 = np.clip(1.0 - ratio ** 2 / 2.0, 1e-3, 0.9995)
    return np.clip(np.sqrt(-1.0 / (4.0 * np.log(rho1))), 1.0, 25.0)


def estimate(folder: str | os.PathLike) -> dict[str, np.ndarray]:
    """Compute the statistics from the real motion (and speech) files in ``folder``."""
    paths = sorted(glob.glob(os.path.join(os.fspath(folder), "*_speaker[12].npz")))
    if not paths:
        raise TimarError(f"no <id>_speakerN.npz FLAME files in {folder}")
    motions, envs = [], []
    for path in paths:
        m = flame.load_motion_npz(path)
        wav = path[:-4] + ".wav"
        audio = load_audio(wav, allow_silent=True) if os.path.isfile(wav) else np.zeros(len(m) * 640)
        env = speech_features(audio, len(m) + LEAD_FRAMES).env[LEAD_FRAMES:]
        motions.append(m)
        envs.append(env)
    m = np.concatenate(motions).astype(np.float64)
    env = np.concatenate(envs).astype(np.float64)
    exp, jaw, neck = m[:, EXP], m[:, JAW], m[:, NECK]
    exp_mean = exp.mean(0)
    # Joint regression of expression on jaw opening and loudness (both centred).
    x = np.stack([jaw[:, 0] - jaw[:, 0].mean(), env - env.mean()], axis=1)
    coef, *_ = np.linalg.lstsq(x, exp - exp_mean, rcond=None)
    resid = exp - exp_mean - x @ coef
    w, v = np.linalg.eigh(np.cov(resid.T))
    order = np.argsort(w)[::-1][:NUM_PCS]
    resid_pcs, resid_var = v[:, order].T, w[order]
    resid_pcs *= np.sign(resid_pcs[:, :1] + 1e-12)     # deterministic sign
    w2, v2 = np.linalg.eigh(np.cov(exp.T))
    order2 = np.argsort(w2)[::-1][:NUM_PCS]
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    return {
        "exp_mean": f32(exp_mean), "exp_std": f32(exp.std(0)),
        "jaw_mean": f32(jaw.mean(0)), "jaw_std": f32(jaw.std(0)),
        "jaw_min": f32(jaw.min(0)), "jaw_max": f32(jaw.max(0)),
        "neck_mean": f32(neck.mean(0)), "neck_std": f32(neck.std(0)),
        "neck_diff_std": f32(np.diff(neck, axis=0).std(0)),
        "neck_smooth": f32(smooth_sigma(neck)),
        "exp_per_jaw": f32(coef[0]), "exp_per_env": f32(coef[1]), "env_mean": f32(env.mean()),
        "resid_pcs": f32(resid_pcs), "resid_var": f32(resid_var),
        "resid_smooth": f32(smooth_sigma(resid @ resid_pcs.T)),
        "pcs": f32(v2[:, order2].T), "pc_var": f32(w2[order2]),
        "num_frames": np.int64(len(m)),
        "sources": np.array([os.path.basename(p) for p in paths]),
    }


def save(stats: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    np.savez(path, **stats)


def load(path: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Read the statistics file (the bundled one by default)."""
    path = Path(path) if path else DEFAULT_STATS
    if not path.is_file():
        raise TimarError(
            f"motion statistics not found: {path}; make them with `python -m model_core corpus "
            "--stats-from ../shared/data/dualtalk_demo --stats-out assets/flame_motion_stats.npz`")
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
