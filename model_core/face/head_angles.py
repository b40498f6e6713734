"""FLAME's neck axis-angle <-> the head's yaw, pitch and roll (radians), as ARKit-style tools
(Live Link Face's HeadYaw/HeadPitch/HeadRoll) state a head's rotation.

Axes: FLAME's and ARKit's face frame are the same: +x the face's own left (the viewer's
right), +y up, +z out of the face towards the viewer. The rotation is
``R = Ry(yaw) @ Rx(pitch) @ Rz(roll)`` (yaw about the neck's up axis first, then pitch about
the turned left-right axis, then roll about the nose), each by the right-hand rule:

- yaw > 0: the face turns towards its own left;
- pitch > 0: the chin goes down (a nod down);
- roll > 0: the head tilts towards its own right shoulder.

The decomposition is exact for |pitch| < pi/2 (a head never pitches a quarter turn).
"""
from __future__ import annotations

import numpy as np


def axis_angle_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    """(N, 3) axis-angle vectors -> (N, 3, 3) rotation matrices (Rodrigues)."""
    r = np.asarray(rotvec, dtype=np.float64).reshape(-1, 3)
    theta = np.linalg.norm(r, axis=1)
    axis = r / np.where(theta > 1e-12, theta, 1.0)[:, None]
    x, y, z = axis.T
    zero = np.zeros_like(x)
    k = np.stack([np.stack([zero, -z, y], 1),
                  np.stack([z, zero, -x], 1),
                  np.stack([-y, x, zero], 1)], 1)            # (N, 3, 3) cross-product matrix
    s, c = np.sin(theta)[:, None, None], np.cos(theta)[:, None, None]
    return np.eye(3) + s * k + (1.0 - c) * (k @ k)


def matrix_to_axis_angle(mat: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotation matrices -> (N, 3) axis-angle vectors, angle in [0, pi]."""
    m = np.asarray(mat, dtype=np.float64).reshape(-1, 3, 3)
    cos = np.clip((np.trace(m, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
    theta = np.arccos(cos)
    skew = np.stack([m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1]], 1)
    sin = np.sin(theta)
    small = sin > 1e-6
    out = np.zeros((len(m), 3))
    out[small] = skew[small] * (theta[small] / (2.0 * sin[small]))[:, None]
    # Near zero the skew part is the vector itself; near pi use the diagonal instead.
    near_zero = ~small & (theta < 1.0)
    out[near_zero] = skew[near_zero] / 2.0
    near_pi = ~small & ~near_zero
    if near_pi.any():
        d = np.sqrt(np.clip((np.diagonal(m[near_pi], axis1=1, axis2=2) + 1.0) / 2.0, 0.0, None))
        signs = np.sign(skew[near_pi])
        signs[signs == 0] = 1.0
        out[near_pi] = d * signs * theta[near_pi][:, None]
    return out


def _rx(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1),
                     np.stack([z, s, c], -1)], -2)


def _ry(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1),
                     np.stack([-s, z, c], -1)], -2)


def _rz(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1),
                     np.stack([z, z, o], -1)], -2)


def yaw_pitch_roll_to_matrix(ypr: np.ndarray) -> np.ndarray:
    """(N, 3) yaw, pitch, roll (radians) -> (N, 3, 3)."""
    a = np.asarray(ypr, dtype=np.float64).reshape(-1, 3)
    return _ry(a[:, 0]) @ _rx(a[:, 1]) @ _rz(a[:, 2])


def matrix_to_yaw_pitch_roll(mat: np.ndarray) -> np.ndarray:
    """(N, 3, 3) -> (N, 3) yaw, pitch, roll (radians), the inverse of the above."""
    m = np.asarray(mat, dtype=np.float64).reshape(-1, 3, 3)
    yaw = np.arctan2(m[:, 0, 2], m[:, 2, 2])
    pitch = np.arcsin(np.clip(-m[:, 1, 2], -1.0, 1.0))
    roll = np.arctan2(m[:, 1, 0], m[:, 1, 1])
    return np.stack([yaw, pitch, roll], axis=1)


def neck_to_yaw_pitch_roll(neck: np.ndarray) -> np.ndarray:
    """(T, 3) FLAME neck axis-angle -> (T, 3) yaw, pitch, roll."""
    return matrix_to_yaw_pitch_roll(axis_angle_to_matrix(neck))


def yaw_pitch_roll_to_neck(ypr: np.ndarray) -> np.ndarray:
    """(T, 3) yaw, pitch, roll -> (T, 3) FLAME neck axis-angle."""
    return matrix_to_axis_angle(yaw_pitch_roll_to_matrix(ypr))
