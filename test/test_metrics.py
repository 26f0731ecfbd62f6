"""Depth metrics against hand-computed values on tiny arrays; crops; alignment; accumulation."""

import math

import numpy as np
import pytest
import torch

from disdepth_core.evaluation.crops import crop_mask, eigen_crop_mask, garg_crop_mask
from disdepth_core.metrics import METRIC_KEYS, MetricAccumulator, compute_depth_metrics


def test_hand_computed_two_pixels_plus_invalid():
    gt = np.array([[1.0, 2.0], [0.0, np.nan]], np.float32)  # two invalid pixels
    pred = np.array([[2.0, 2.0], [5.0, 5.0]], np.float32)
    m = compute_depth_metrics(pred, gt, min_depth=1e-3, max_depth=10.0)
    assert m["n_valid"] == 2
    assert m["abs_rel"] == pytest.approx((1.0 + 0.0) / 2)
    assert m["sq_rel"] == pytest.approx((1.0 + 0.0) / 2)
    assert m["rmse"] == pytest.approx(math.sqrt(0.5))
    ln2 = math.log(2.0)
    assert m["rmse_log"] == pytest.approx(math.sqrt(ln2**2 / 2))
    assert m["log10"] == pytest.approx(math.log10(2.0) / 2)
    # d = [ln2, 0]: mean(d^2) - mean(d)^2 = ln2^2/2 - ln2^2/4 = ln2^2/4
    assert m["silog"] == pytest.approx(100 * ln2 / 2)
    # ratio 2 > 1.25^3 = 1.953: only the exact pixel passes every threshold
    assert (m["d1"], m["d2"], m["d3"]) == (0.5, 0.5, 0.5)


def test_thresholds_boundaries():
    gt = np.ones((1, 4), np.float32)
    pred = np.array([[1.2, 1.5, 1.9, 2.5]], np.float32)
    m = compute_depth_metrics(pred, gt, min_depth=1e-3, max_depth=10.0)
    assert m["d1"] == pytest.approx(1 / 4)
    assert m["d2"] == pytest.approx(2 / 4)  # 1.25^2 = 1.5625
    assert m["d3"] == pytest.approx(3 / 4)  # 1.25^3 = 1.953125


def test_perfect_prediction_and_clipping():
    gt = np.array([[0.5, 20.0, 3.0]], np.float32)
    m = compute_depth_metrics(gt.copy(), gt, min_depth=1e-3, max_depth=10.0)
    assert m["n_valid"] == 2  # 20 m is beyond max_depth
    assert m["abs_rel"] == 0 and m["rmse"] == 0 and m["d1"] == 1.0
    # predictions are clipped to the range: 100 m -> 10 m, 0 -> 1e-3
    m = compute_depth_metrics(
        np.array([[100.0, 1.0, 0.0]]), np.array([[10.0, 1.0, 1e-3]]), min_depth=1e-3, max_depth=10.0
    )
    assert m["abs_rel"] == pytest.approx(0.0)


def test_median_and_scale_shift_alignment_and_torch_input():
    rng = np.random.default_rng(0)
    gt = rng.uniform(1, 5, (8, 8)).astype(np.float32)
    m = compute_depth_metrics(
        torch.from_numpy(gt * 3.0)[None, None], gt, min_depth=1e-3, max_depth=10.0, align="median"
    )
    assert m["abs_rel"] == pytest.approx(0.0, abs=1e-6)
    m = compute_depth_metrics(gt * 0.5 + 0.7, gt, min_depth=1e-3, max_depth=10.0, align="scale_shift")
    assert m["rmse"] == pytest.approx(0.0, abs=1e-5)
    with pytest.raises(ValueError, match="median"):
        compute_depth_metrics(gt, gt, min_depth=1e-3, max_depth=10.0, align="mean")


def test_eigen_crop_at_full_and_half_resolution():
    mask = eigen_crop_mask(480, 640)
    rows, cols = np.nonzero(mask)
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (45, 471, 41, 601)
    half = eigen_crop_mask(240, 320)
    rows, cols = np.nonzero(half)
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (22, 236, 20, 300)


def test_garg_crop_kitti_size():
    rows, cols = np.nonzero(garg_crop_mask(375, 1242))
    assert (rows.min(), rows.max() + 1) == (153, 371)
    assert (cols.min(), cols.max() + 1) == (44, 1197)
    with pytest.raises(ValueError, match="garg"):
        crop_mask("kb", 10, 10)


def test_crop_restricts_valid_pixels():
    gt = np.full((480, 640), 2.0, np.float32)
    pred = gt.copy()
    pred[:45] = 9.0  # wrong only outside the Eigen crop
    m = compute_depth_metrics(pred, gt, min_depth=1e-3, max_depth=10.0, crop="eigen")
    assert m["abs_rel"] == 0.0 and m["n_valid"] == 426 * 560


def test_accumulator_is_per_image_mean_and_skips_empty():
    acc = MetricAccumulator()
    gt = np.ones((2, 2), np.float32)
    acc.add(gt * 2, gt, min_depth=1e-3, max_depth=10.0)  # abs_rel 1
    acc.add(gt, gt, min_depth=1e-3, max_depth=10.0)  # abs_rel 0
    acc.add(gt, np.zeros((2, 2)), min_depth=1e-3, max_depth=10.0)  # nothing valid
    out = acc.compute()
    assert out["abs_rel"] == pytest.approx(0.5)
    assert out["n_images"] == 2 and out["n_skipped"] == 1
    assert set(METRIC_KEYS) <= set(out)
