"""Metrics of motion over time on signals whose answers are known in closed form."""
from __future__ import annotations

import numpy as np
import pytest

from model_core.evaluation import motion_time as mt

FPS = 25


def sine(hz: float, seconds: float = 8.0, amp: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * FPS)) / FPS
    return (amp * np.sin(2 * np.pi * hz * t))[:, None]


def test_sine_velocity_and_acceleration_match_calculus():
    # mean |d/dt A sin(wt)| over whole periods = 2 A w / pi, per frame: / fps.
    for hz in (0.5, 1.0, 2.0):
        w = 2 * np.pi * hz
        x = sine(hz)
        assert mt.mean_abs_velocity(x) == pytest.approx(2 * w / np.pi / FPS, rel=0.02)
        assert mt.mean_abs_acceleration(x) == pytest.approx(2 * w ** 2 / np.pi / FPS ** 2, rel=0.03)
    # twice the frequency: twice the velocity, four times the acceleration
    assert mt.mean_abs_velocity(sine(2.0)) / mt.mean_abs_velocity(sine(1.0)) == pytest.approx(2, rel=0.02)


def test_high_frequency_share_of_sines_and_white_noise():
    assert mt.high_frequency_share(sine(1.0)) < 1e-6
    assert mt.high_frequency_share(sine(8.0)) > 0.999
    # white noise spreads its energy evenly up to 12.5 Hz: about (12.5 - 4) / 12.5 above 4 Hz
    noise = np.random.default_rng(0).standard_normal((5000, 3))
    assert mt.high_frequency_share(noise) == pytest.approx(8.5 / 12.5, abs=0.02)
    assert mt.high_frequency_share(np.ones((100, 2))) == 0.0


def test_white_noise_velocity_is_sqrt2_times_its_spread():
    noise = np.random.default_rng(1).standard_normal((20000, 2))
    # x[t+1] - x[t] ~ N(0, 2): mean |.| = sqrt(2) * sqrt(2 / pi)
    assert mt.mean_abs_velocity(noise) == pytest.approx(2 / np.sqrt(np.pi), rel=0.02)
    # second difference ~ N(0, 6)
    assert mt.mean_abs_acceleration(noise) == pytest.approx(np.sqrt(6) * np.sqrt(2 / np.pi), rel=0.02)


def test_seam_ratio_sees_jumps_at_turn_boundaries_only():
    ramp = np.arange(100, dtype=float)[:, None]            # constant velocity: no seams
    assert mt.seam_ratio(ramp) == pytest.approx(1.0)
    step = ramp.copy()
    step[50:] += 9.0                                     # a jump of 10 at the 25 -> 50 boundary
    # boundaries at 25, 50, 75: jumps 1, 10, 1 -> mean 4 over inside jumps of 1
    assert mt.seam_ratio(step) == pytest.approx(4.0)
    off_boundary = ramp.copy()
    off_boundary[60:] += 9.0                             # the same jump inside a turn
    assert mt.seam_ratio(off_boundary) < 1.0
    assert mt.seam_ratio(ramp[:25]) is None               # one turn: no boundary


def test_time_metrics_and_ratios_per_group():
    rng = np.random.default_rng(2)
    smooth = np.cumsum(rng.normal(scale=0.01, size=(200, 56)), axis=0)
    jitter = smooth + rng.normal(scale=0.05, size=smooth.shape)
    clip = mt.time_metrics(jitter, smooth)
    for g in mt.GROUPS:
        assert clip[f"vel_{g}"] > 3 * clip[f"vel_gt_{g}"]
        assert clip[f"hf_{g}"] > max(0.1, 5 * clip[f"hf_gt_{g}"])
    agg = mt.aggregate_time([clip, mt.time_metrics(smooth, smooth)])
    for g in mt.GROUPS:
        assert agg[f"vel_ratio_{g}"] == pytest.approx(
            (clip[f"vel_{g}"] + clip[f"vel_gt_{g}"]) / 2 / clip[f"vel_gt_{g}"])
    table = mt.format_time_table({"jittery": agg}, "t")
    assert "jittery" in table and "reference" in table


def test_spread_ratio_sees_a_still_head():
    """A smooth head moving at a tenth of the reference's amplitude: velocity and spread
    both read about 0.1, which hf and seam alone would not show."""
    rng = np.random.default_rng(5)
    real = np.cumsum(rng.normal(scale=0.02, size=(250, 56)), axis=0)
    still = 0.1 * real
    agg = mt.aggregate_time([mt.time_metrics(still, real)])
    for g in mt.GROUPS:
        assert agg[f"std_ratio_{g}"] == pytest.approx(0.1, rel=1e-6)
        assert agg[f"vel_ratio_{g}"] == pytest.approx(0.1, rel=1e-6)
    assert "std x" in mt.format_time_table({"still": agg})
