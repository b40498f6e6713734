# SPDX-License-Identifier: GPL-3.0-or-later
"""The model's FLAME motion as numbers over time, before any rig: intensity, smoothing,
resampling from 25 fps to the scene's rate, rotations (axis-angle -> quaternions, FLAME's
pose correctives) and the procedural blinks and eye saccades. Pure numpy; the FLAME layout
(56 = 50 expression + 3 jaw + 3 neck) is model_core.constants'. No bpy."""
from __future__ import annotations

import numpy as np

from ..core import constants

MODEL_FPS = float(constants.FPS)
MOTION_DIM = constants.MOTION_DIM
EXP, JAW, NECK = constants.EXP, constants.JAW, constants.NECK


def check_motion(motion) -> np.ndarray:
    motion = np.asarray(motion, dtype=np.float32)
    if motion.ndim != 2 or motion.shape[1] != MOTION_DIM:
        raise ValueError(f"motion must be (frames, {MOTION_DIM}), got {motion.shape}")
    if not np.isfinite(motion).all():
        raise ValueError("motion holds NaN or infinite values")
    return motion


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Centred Gaussian smoothing along time (axis 0), edges held; sigma in frames."""
    if sigma <= 0 or len(x) < 2:
        return x
    radius = max(1, int(round(3 * sigma)))
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(x.astype(np.float64), ((radius, radius), (0, 0)), mode="edge")
    out = np.empty(x.shape, dtype=np.float64)
    for c in range(x.shape[1]):
        out[:, c] = np.convolve(padded[:, c], kernel, mode="valid")
    return out.astype(np.float32)


def prepare_motion(motion, intensity_exp=1.0, intensity_jaw=1.0, intensity_head=1.0,
                   smoothing=0.0) -> np.ndarray:
    """Scale expression, jaw and head rotation, then smooth (sigma in 25 fps frames)."""
    m = check_motion(motion).copy()
    m[:, EXP] *= intensity_exp
    m[:, JAW] *= intensity_jaw
    m[:, NECK] *= intensity_head
    return gaussian_smooth(m, float(smoothing))


def scene_frame_count(n_src: int, fps: float) -> int:
    """Whole scene frames covered by n_src model frames (first at offset 0)."""
    if n_src <= 0:
        return 0
    return int(np.floor((n_src - 1) * fps / MODEL_FPS + 1e-6)) + 1


def resample(x: np.ndarray, fps: float) -> np.ndarray:
    """Resample (T, C) values at 25 fps to whole frames of a scene running at ``fps``."""
    if abs(fps - MODEL_FPS) < 1e-9:
        return np.asarray(x, dtype=np.float32)
    n = scene_frame_count(len(x), fps)
    t = np.arange(n, dtype=np.float64) * (MODEL_FPS / fps)
    src = np.arange(len(x), dtype=np.float64)
    out = np.empty((n, x.shape[1]), dtype=np.float32)
    for c in range(x.shape[1]):
        out[:, c] = np.interp(t, src, x[:, c])
    return out


def rotation_matrices(aa: np.ndarray) -> np.ndarray:
    """(N, 3) axis-angle vectors -> (N, 3, 3) rotation matrices (Rodrigues)."""
    aa = np.asarray(aa, dtype=np.float64)
    angle = np.linalg.norm(aa, axis=1)
    safe = np.where(angle > 1e-12, angle, 1.0)
    k = aa / safe[:, None]
    kx, ky, kz = k[:, 0], k[:, 1], k[:, 2]
    zero = np.zeros_like(kx)
    K = np.stack([np.stack([zero, -kz, ky], 1), np.stack([kz, zero, -kx], 1),
                  np.stack([-ky, kx, zero], 1)], 1)
    s = np.sin(angle)[:, None, None]
    c = (1 - np.cos(angle))[:, None, None]
    return np.eye(3)[None] + s * K + c * (K @ K)


def axis_angle_to_quaternion(aa: np.ndarray) -> np.ndarray:
    """(N, 3) axis-angle -> (N, 4) quaternions (w, x, y, z), signs kept continuous."""
    aa = np.asarray(aa, dtype=np.float64)
    angle = np.linalg.norm(aa, axis=1)
    half = 0.5 * angle
    # sin(a/2)/a, with its limit 1/2 near zero
    scale = np.where(angle > 1e-8, np.sin(half) / np.where(angle > 1e-8, angle, 1.0), 0.5)
    q = np.concatenate([np.cos(half)[:, None], aa * scale[:, None]], axis=1)
    if len(q) > 1:   # flip signs so consecutive quaternions stay in one hemisphere
        flips = np.cumsum(np.einsum("ij,ij->i", q[1:], q[:-1]) < 0) % 2
        q[1:] *= np.where(flips, -1.0, 1.0)[:, None]
    return q.astype(np.float32)


def pose_correctives(neck: np.ndarray, jaw: np.ndarray) -> np.ndarray:
    """FLAME pose-corrective weights Pose1..Pose18: ravel(R(neck) - I) ++ ravel(R(jaw) - I)."""
    eye = np.eye(3)[None]
    a = (rotation_matrices(neck) - eye).reshape(-1, 9)
    b = (rotation_matrices(jaw) - eye).reshape(-1, 9)
    return np.concatenate([a, b], axis=1).astype(np.float32)


def _events(n_frames: int, fps: float, seed: int, gap_s: tuple[float, float]):
    """Prefix-stable random event times (in frames): the same seed always gives the same
    first events, so a take growing turn by turn keeps its earlier blinks."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.3, gap_s[0]) * fps
    while t < n_frames:
        yield t, rng
        t += rng.uniform(*gap_s) * fps


def blink_curve(n_frames: int, fps: float, seed: int = 0) -> np.ndarray:
    """Eyelid closure 0..1 per scene frame: a blink every 2-5 s, closing in 80 ms and
    reopening in 160 ms, occasionally a double blink."""
    out = np.zeros(n_frames, dtype=np.float32)
    frames = np.arange(n_frames, dtype=np.float64)
    close, hold, reopen = 0.08 * fps, 0.04 * fps, 0.16 * fps
    for t0, rng in _events(n_frames, fps, seed, (2.0, 5.0)):
        starts = [t0, t0 + 0.35 * fps] if rng.uniform() < 0.15 else [t0]
        for s in starts:
            up = np.clip((frames - s) / close, 0, 1)
            down = np.clip(1 - (frames - s - close - hold) / reopen, 0, 1)
            out = np.maximum(out, np.minimum(up, down).astype(np.float32))
    return out


def saccade_curve(n_frames: int, fps: float, seed: int = 0) -> np.ndarray:
    """(n, 2) gaze (yaw, pitch) in radians: fixations of 0.4-2.5 s joined by 40 ms jumps."""
    out = np.zeros((n_frames, 2), dtype=np.float32)
    frames = np.arange(n_frames, dtype=np.float64)
    for t0, rng in _events(n_frames, fps, seed + 7919, (0.4, 2.5)):
        target = np.array([rng.uniform(-0.12, 0.12), rng.uniform(-0.06, 0.05)])
        w = np.clip((frames - t0) / max(1.0, 0.04 * fps), 0, 1)[:, None]
        out = (out * (1 - w) + target[None] * w).astype(np.float32)
    return out


def gaze_quaternions(gaze: np.ndarray) -> np.ndarray:
    """(n, 2) yaw (about FLAME +Y, up) and pitch (about FLAME +X) -> (n, 4) quaternions."""
    aa = np.zeros((len(gaze), 3), dtype=np.float64)
    aa[:, 0] = -gaze[:, 1]
    aa[:, 1] = gaze[:, 0]
    return axis_angle_to_quaternion(aa)
