"""The evaluation package: metrics against hand-computed values, each alignment mode, the scoring rule
(valid GT, evaluation range, invalid predictions, coverage figures), per-image means, groups, crops."""

import math

import numpy as np
import pytest
import torch

from disdepth_core.evaluation import (
    ALIGNMENTS,
    METRIC_KEYS,
    DepthScorer,
    EvalRange,
    depth_errors,
    format_summary,
    protocol_for,
    score_frame,
)
from disdepth_core.evaluation.crops import crop_mask, eigen_crop_mask, garg_crop_mask

RANGE = EvalRange(1e-3, 10.0)


def test_hand_computed_metrics_two_pixels():
    m = depth_errors(np.array([2.0, 2.0]), np.array([1.0, 2.0]))
    assert m["abs_rel"] == pytest.approx(0.5)
    assert m["sq_rel"] == pytest.approx(0.5)
    assert m["rmse"] == pytest.approx(math.sqrt(0.5))
    ln2 = math.log(2.0)
    assert m["rmse_log"] == pytest.approx(math.sqrt(ln2**2 / 2))
    assert m["log10"] == pytest.approx(math.log10(2.0) / 2)
    assert m["silog"] == pytest.approx(100 * ln2 / 2)  # sqrt(ln2^2/2 - ln2^2/4)
    assert (m["d1"], m["d2"], m["d3"]) == (0.5, 0.5, 0.5)  # ratio 2 > 1.25^3


def test_threshold_boundaries():
    m = depth_errors(np.array([1.2, 1.5, 1.9, 2.5]), np.ones(4))
    assert (m["d1"], m["d2"], m["d3"]) == pytest.approx((0.25, 0.5, 0.75))


def test_invalid_ground_truth_and_range_and_invalid_prediction_are_counted_apart():
    gt = np.array([[1.0, 2.0, 0.0, np.nan, 20.0, 4.0]], np.float32)
    pred = np.array([[2.0, 2.0, 5.0, 5.0, 5.0, np.nan]], np.float32)
    score, scored = score_frame(pred, gt, RANGE, ["raw"])
    assert (score.gt_valid, score.evaluated, score.scored) == (4, 3, 2)  # 0/NaN invalid; 20 m out of range
    assert score.gt_in_range == pytest.approx(3 / 4)
    assert score.coverage == pytest.approx(2 / 3)  # the NaN prediction at 4 m is not scored as a guess
    assert score.metrics["raw"]["abs_rel"] == pytest.approx(0.5)
    assert scored.tolist() == [[True, True, False, False, False, False]]
    row = score.row()
    assert row["raw_abs_rel"] == pytest.approx(0.5) and row["n_scored"] == 2


def test_prediction_is_clipped_to_the_range_after_alignment():
    gt = np.array([[10.0, 1.0, 1e-3]])
    score, _ = score_frame(np.array([[100.0, 1.0, 1e-6]]), gt, RANGE, ["raw"])
    assert score.metrics["raw"]["abs_rel"] == pytest.approx(0.0)


@pytest.mark.parametrize("mode", ["median", "lsq_scale"])
def test_scale_alignments_undo_a_global_scale(mode):
    gt = np.random.default_rng(0).uniform(1, 5, (8, 8))
    score, _ = score_frame(torch.from_numpy(gt * 3.0)[None, None], gt, RANGE, [mode])
    assert score.metrics[mode]["abs_rel"] == pytest.approx(0.0, abs=1e-9)


def test_inverse_depth_scale_shift_alignment_undoes_an_affine_disparity():
    gt = np.random.default_rng(1).uniform(1, 8, (6, 6))
    relative = 1.0 / (0.3 / gt + 0.05)  # a relative model's "depth": affine in inverse depth
    score, _ = score_frame(relative, gt, RANGE, ["lsq_scale_shift_inv", "median"])
    assert score.metrics["lsq_scale_shift_inv"]["abs_rel"] == pytest.approx(0.0, abs=1e-9)
    assert score.metrics["median"]["abs_rel"] > 0.05  # a scale alone cannot fix a shift


def test_least_squares_scale_is_the_optimum():
    gt = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.5, 1.5, 3.5, 3.5])
    score, _ = score_frame(pred[None], gt[None], RANGE, ["lsq_scale"])
    s = np.dot(pred, gt) / np.dot(pred, pred)
    assert score.metrics["lsq_scale"]["rmse"] == pytest.approx(np.sqrt(np.mean((s * pred - gt) ** 2)))
    for other in (0.9 * s, 1.1 * s):
        assert np.sqrt(np.mean((other * pred - gt) ** 2)) > score.metrics["lsq_scale"]["rmse"]


def test_scorer_means_per_image_skips_empty_and_weights_coverage_by_pixels():
    scorer = DepthScorer(RANGE, ("raw",))
    ones = np.ones((2, 2))
    scorer.add(ones * 2, ones, group="a")  # abs_rel 1
    scorer.add(ones, ones, group="b")  # abs_rel 0
    scorer.add(np.full((2, 2), np.nan), ones, group="b")  # evaluated, nothing scored
    summary = scorer.summary()
    assert summary["raw"]["abs_rel"] == pytest.approx(0.5)
    assert summary["raw"]["n_images"] == 2 and summary["raw"]["n_skipped"] == 1
    assert summary["coverage"]["prediction"] == pytest.approx(8 / 12)
    assert summary["range"] == {"min_depth": 1e-3, "max_depth": 10.0, "crop": None}
    groups = scorer.group_summaries()
    assert groups["a"]["raw"]["abs_rel"] == pytest.approx(1.0)
    assert groups["b"]["raw"]["abs_rel"] == 0.0 and groups["b"]["coverage"]["prediction"] == 0.5
    assert set(METRIC_KEYS) <= set(summary["raw"])
    text = format_summary(summary)
    assert "raw metric" in text and "coverage: prediction 0.667" in text


def test_error_by_distance_bins():
    scorer = DepthScorer(EvalRange(0.1, 16.0), ("raw",))
    scorer.add(np.array([[1.5, 12.0]]), np.array([[1.0, 10.0]]))
    bins = scorer.error_by_distance()
    assert bins["pixels"][1] == 1 and bins["pixels"][10] == 1 and sum(bins["pixels"]) == 2
    assert bins["mean_abs_error_m"][1] == pytest.approx(0.5)
    assert bins["abs_rel"][10] == pytest.approx(0.2)


def test_every_alignment_is_reported_by_default():
    score, _ = score_frame(np.full((3, 3), 2.0), np.full((3, 3), 1.0), RANGE)
    assert set(score.metrics) == set(ALIGNMENTS)
    assert score.metrics["raw"]["abs_rel"] == pytest.approx(1.0)
    assert all(score.metrics[m]["abs_rel"] == pytest.approx(0.0) for m in ALIGNMENTS if m != "raw")


def test_eval_range_and_shapes_are_checked():
    with pytest.raises(ValueError, match="0 < min < max"):
        EvalRange(0.0, 10.0)
    with pytest.raises(ValueError, match="garg"):
        EvalRange(0.1, 10.0, "kb")
    with pytest.raises(ValueError, match="resize the prediction"):
        score_frame(np.ones((2, 2)), np.ones((3, 3)), RANGE)
    with pytest.raises(ValueError, match="alignment"):
        DepthScorer(RANGE, ("mean",))


def test_protocols():
    assert protocol_for("nyu") == EvalRange(1e-3, 10.0, "eigen")
    assert protocol_for("kitti") == EvalRange(1e-3, 80.0, "garg")
    assert protocol_for("rgbd") == EvalRange(0.1, 80.0)
    assert protocol_for("synthetic", ("room", "street")).max_depth == 80.0
    with pytest.raises(ValueError, match="unknown dataset"):
        protocol_for("make3d")


def test_eigen_crop_at_full_and_half_resolution():
    rows, cols = np.nonzero(eigen_crop_mask(480, 640))
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (45, 471, 41, 601)
    rows, cols = np.nonzero(eigen_crop_mask(240, 320))
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (22, 236, 20, 300)


def test_garg_crop_kitti_size_and_crop_restricts_scoring():
    rows, cols = np.nonzero(garg_crop_mask(375, 1242))
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (153, 371, 44, 1197)
    with pytest.raises(ValueError, match="garg"):
        crop_mask("kb", 10, 10)
    gt = np.full((480, 640), 2.0)
    pred = gt.copy()
    pred[:45] = 9.0  # wrong only outside the Eigen crop
    score, _ = score_frame(pred, gt, EvalRange(1e-3, 10.0, "eigen"), ["raw"])
    assert score.metrics["raw"]["abs_rel"] == 0.0 and score.scored == 426 * 560
