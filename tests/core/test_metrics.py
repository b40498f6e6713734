"""Known-answer tests for the DualTalk benchmark metrics."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import linalg

from model_core.evaluation import metrics as M


def _motion(t: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(t, 56)).astype(np.float32)


def test_identical_sequences_score_perfectly():
    gt, partner = _motion(150, 0), _motion(150, 1)
    m = M.clip_metrics(gt, gt, partner)
    for g in M.GROUPS:
        assert m[f"fd_{g}"] == pytest.approx(0.0, abs=1e-8)
        assert m[f"pfd_{g}"] == pytest.approx(0.0, abs=1e-8)
        assert m[f"mse_{g}"] == 0.0
        assert m[f"rpcc_{g}"] == pytest.approx(0.0, abs=1e-12)
        assert m[f"sid_{g}"] == pytest.approx(m[f"sid_gt_{g}"])
        assert m[f"rsid_{g}"] == pytest.approx(m[f"sid_gt_{g}"])
        # 150 spread-out frames visit many of the k clusters
        assert m[f"sid_gt_{g}"] > math.log2(M.CLUSTERS[g]) - 1.5


def test_shifted_gaussians_fd_is_squared_mean_distance():
    x = _motion(300, 2)[:, :3].astype(np.float64)
    shift = np.array([0.5, -1.0, 2.0])
    assert M.fd(x + shift, x) == pytest.approx(float(shift @ shift), rel=1e-9)


def test_isotropic_covariances_known_answer():
    d, a, b = 4, 0.5, 2.0
    fd = M.frechet_distance(np.zeros(d), a * a * np.eye(d), np.zeros(d), b * b * np.eye(d))
    assert fd == pytest.approx(d * (a - b) ** 2)


def test_fd_matches_scipy_sqrtm_on_full_rank_case():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    covmean = linalg.sqrtm(s1 @ s2).real
    ref = float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1 + s2 - 2 * covmean))
    assert M.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-7)


def test_fd_singular_covariances_are_finite_and_correct():
    # A constant prediction (zero covariance) against N(0, s^2 I): FD = d s^2 + |mu|^2.
    s1 = np.zeros((3, 3))
    s2 = 4.0 * np.eye(3)
    fd = M.frechet_distance(np.ones(3), s1, np.zeros(3), s2)
    assert fd == pytest.approx(3 * 4.0 + 3.0)
    # rank-deficient covariances from data (one dimension always zero)
    x = _motion(50, 4)[:, :3].astype(np.float64)
    x[:, 2] = 0.0
    assert math.isfinite(M.fd(x, x)) and M.fd(x, x) == pytest.approx(0.0, abs=1e-9)
    # a single frame has zero covariance instead of NaN
    assert math.isfinite(M.fd(x[:1], x))


def test_fd_is_symmetric_and_positive():
    a, b = _motion(100, 5)[:, :50], _motion(100, 6)[:, :50] * 1.5 + 0.2
    assert M.fd(a, b) == pytest.approx(M.fd(b, a), rel=1e-6)
    assert M.fd(a, b) > 0


def test_paired_fd_sees_broken_coupling_that_fd_misses():
    rng = np.random.default_rng(7)
    partner = rng.normal(size=(400, 3))
    gt = partner + 0.1 * rng.normal(size=(400, 3))     # strongly coupled to the partner
    pred = gt[rng.permutation(400)]                      # same marginal, coupling destroyed
    assert M.fd(pred, gt) == pytest.approx(0.0, abs=1e-9)
    assert M.paired_fd(pred, gt, partner) > 1.0


def test_mse_value():
    gt = np.zeros((10, 56))
    pred = np.zeros((10, 56))
    pred[:, 50:53] = 2.0
    m = M.clip_metrics(pred, gt)
    assert m["mse_jaw"] == pytest.approx(4.0)
    assert m["mse_exp"] == 0.0 and m["mse_pose"] == 0.0


def test_sid_prediction_stuck_in_one_cluster_is_zero():
    gt = _motion(200, 8)
    stuck = np.repeat(gt[:1], 200, axis=0)
    m = M.clip_metrics(stuck, gt)
    for g in M.GROUPS:
        assert m[f"sid_{g}"] == 0.0 and math.copysign(1.0, m[f"sid_{g}"]) == 1.0
        assert m[f"sid_gt_{g}"] > 2.0
        assert m[f"rsid_{g}"] == 0.0       # one centre fitted on the stuck prediction


def test_sid_two_balanced_modes_is_one_bit():
    rng = np.random.default_rng(9)
    modes = np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0]])
    gt = modes[rng.integers(0, 2, 200)] + 0.01 * rng.normal(size=(200, 3))
    pred = np.concatenate([np.repeat(modes[:1], 50, 0), np.repeat(modes[1:], 50, 0)])
    # fitted with k=2 on the prediction, the gt's split is close to half/half
    assert M.sid(pred, pred, 2) == pytest.approx(1.0)
    assert 0.9 < M.sid(pred, gt, 2) <= 1.0


def test_sid_with_fewer_frames_than_clusters():
    gt = _motion(7, 10)
    m = M.clip_metrics(gt, gt)
    # 7 distinct frames, k = min(40, 7): every frame its own cluster
    assert m["sid_exp"] == pytest.approx(math.log2(7))


def test_kmeans_is_deterministic_and_finds_clusters():
    rng = np.random.default_rng(11)
    centres = np.array([[0, 0], [5, 5], [-5, 5]], dtype=float)
    x = np.concatenate([c + 0.1 * rng.normal(size=(30, 2)) for c in centres])
    c1, c2 = M.kmeans(x, 3, seed=0), M.kmeans(x, 3, seed=0)
    np.testing.assert_array_equal(c1, c2)
    found = sorted(map(tuple, np.round(c1)))
    assert found == sorted(map(tuple, centres))
    # duplicate points: never more centres than distinct points, no crash
    assert len(M.kmeans(np.zeros((20, 2)), 10)) == 1


def test_rpcc_known_values():
    rng = np.random.default_rng(12)
    partner = rng.normal(size=(100, 3))
    gt = partner.copy()                # PCC(gt, partner) = 1
    pred = -partner                    # PCC(pred, partner) = -1
    assert M.rpcc(pred, gt, partner) == pytest.approx(2.0)
    assert M.rpcc(gt, gt, partner) == pytest.approx(0.0)
    assert M.pcc(np.ones(10), np.arange(10)) == 0.0   # constant: defined as 0


def test_partner_metrics_absent_without_partner():
    gt = _motion(60, 13)
    m = M.clip_metrics(gt + 0.1, gt, None)
    for g in M.GROUPS:
        assert m[f"pfd_{g}"] is None and m[f"rpcc_{g}"] is None
        assert m[f"fd_{g}"] > 0


def test_aggregate_means_and_skips_missing():
    a = {k: 1.0 for k in (M.key(m, g) for m in M.METRICS for g in M.GROUPS)}
    b = dict(a, fd_exp=3.0, pfd_exp=None, rpcc_exp=float("nan"))
    out = M.aggregate([a, b])
    assert out["fd_exp"] == pytest.approx(2.0)
    assert out["pfd_exp"] == pytest.approx(1.0)     # only clip a had it
    assert out["rpcc_exp"] == pytest.approx(1.0)
    assert out["num_clips"] == 2
    assert M.aggregate([dict(a, pfd_jaw=None)] * 0)["fd_exp"] is None


def test_scaling_and_table():
    raw = {M.key(m, g): 1.0 for m in M.METRICS for g in M.GROUPS}
    raw["pfd_pose"] = None
    s = M.scale_metrics(raw)
    assert s["fd_exp"] == 1.0 and s["fd_jaw"] == 1e3 and s["fd_pose"] == 1e2
    assert s["pfd_jaw"] == 1e3 and s["pfd_pose"] is None
    assert s["mse_exp"] == 10.0 and s["mse_jaw"] == 1e3 and s["mse_pose"] == 1e2
    assert s["rpcc_exp"] == 1e2 and s["rpcc_jaw"] == 10.0 and s["rpcc_pose"] == 10.0
    assert s["sid_exp"] == 1.0
    table = M.format_table({0: raw, 7: raw, "DualTalk": raw}, title="test set")
    lines = table.splitlines()
    assert lines[0] == "test set"
    assert "P-FD" in lines[1] and "rPCC" in lines[1]
    assert any(line.startswith("n=7") for line in lines)
    assert any(line.startswith("DualTalk") for line in lines)
    assert "1000.0" in table and "-" in lines[4].split()


def test_shape_errors():
    with pytest.raises(ValueError):
        M.clip_metrics(np.zeros((10, 56)), np.zeros((11, 56)))
    with pytest.raises(ValueError):
        M.clip_metrics(np.zeros((10, 50)), np.zeros((10, 50)))
