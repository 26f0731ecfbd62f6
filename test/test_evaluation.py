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
    accuracy_line,
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
    assert (score.gt_valid, score.scored, score.predicted) == (4, 3, 2)  # 0/NaN invalid; 20 m out of range
    assert score.gt_in_range == pytest.approx(3 / 4)
    assert score.prediction == pytest.approx(2 / 3)
    # the NaN prediction at 4 m is scored as the in-range depth farthest from 4 m: 10 m in metres (|10 - 4|
    # / 4 = 1.5), 1 mm in log (a ratio of 4000: no delta threshold met)
    assert score.metrics["raw"]["abs_rel"] == pytest.approx((1.0 + 0.0 + 1.5) / 3)
    assert score.metrics["raw"]["rmse"] == pytest.approx(math.sqrt((1.0 + 0.0 + 36.0) / 3))
    assert score.metrics["raw"]["log10"] == pytest.approx(
        (math.log10(2) + 0 + math.log10(4000)) / 3, rel=1e-6
    )
    assert score.metrics["raw"]["d1"] == pytest.approx(1 / 3)
    assert scored.tolist() == [[True, True, False, False, False, True]]
    row = score.row()
    assert row["raw_abs_rel"] == pytest.approx(2.5 / 3) and row["n_scored"] == 3
    assert row["prediction"] == pytest.approx(2 / 3)


def test_infinite_and_negative_values_are_invalid_like_zero_and_nan():
    gt = np.array([[np.inf, -1.0, 2.0, 3.0, 4.0, -np.inf]])
    pred = np.array([[1.0, 1.0, -2.0, np.inf, 4.0, 1.0]])
    score, scored = score_frame(pred, gt, RANGE, ["raw"])
    assert (score.gt_valid, score.scored, score.predicted) == (3, 3, 1)
    assert scored.tolist() == [[False, False, True, True, True, False]]


HIGHER_IS_BETTER = ("d1", "d2", "d3")


def _at_least_as_bad(worse: dict, better: dict) -> bool:
    """No metric of `worse` but SILog (a variance, see scoring's docstring) is better than `better`'s."""
    return all(
        worse[key] <= better[key] + 1e-12 if key in HIGHER_IS_BETTER else worse[key] >= better[key] - 1e-12
        for key in METRIC_KEYS
        if key != "silog"
    )


def test_a_half_empty_prediction_never_beats_the_same_prediction_filled_in():
    """Holes in a prediction cost at least as much as any in-range depths put into them would."""
    rng = np.random.default_rng(3)
    gt = rng.uniform(0.5, 9.0, (16, 16))
    pred = gt * rng.uniform(0.7, 1.4, gt.shape)
    half_empty = pred.copy()
    half_empty[:, 8:] = np.nan
    holes, _ = score_frame(half_empty, gt, RANGE, ["raw"])
    assert holes.prediction == 0.5 and holes.gt_in_range == 1.0
    for filling in (
        pred[:, 8:],
        np.full((16, 8), 1e-3),
        np.full((16, 8), 10.0),
        rng.uniform(1e-3, 10, (16, 8)),
    ):
        filled = half_empty.copy()
        filled[:, 8:] = filling
        score, _ = score_frame(filled, gt, RANGE, ["raw"])
        assert score.prediction == 1.0
        assert _at_least_as_bad(holes.metrics["raw"], score.metrics["raw"]), (holes.metrics, score.metrics)
    # a prediction that is valid everywhere scores exactly as the standard protocol (plain depth_errors)
    score, _ = score_frame(pred, gt, RANGE, ["raw"])
    assert score.metrics["raw"] == pytest.approx(depth_errors(np.clip(pred, 1e-3, 10.0).ravel(), gt.ravel()))


def test_a_constant_prediction_is_scored_on_all_the_ground_truth_in_the_data_range():
    """A constant 2.5 m (what a smoke-test student predicts) on near (1-4 m) and far (6-9 m) ground truth:
    scored on every pixel of the data's range; it never beats a prediction within 20 % everywhere, and a
    half-empty one (only the near half predicted) does not beat the constant either."""
    rng = np.random.default_rng(4)
    gt = np.concatenate([rng.uniform(1, 4, (8, 16)), rng.uniform(6, 9, (8, 16))])
    rgbd = protocol_for("rgbd")
    constant, _ = score_frame(np.full_like(gt, 2.5), gt, rgbd, ["raw"])
    assert constant.gt_in_range == 1.0 and constant.scored == gt.size
    assert constant.metrics["raw"]["abs_rel"] == pytest.approx(np.mean(np.abs(2.5 - gt) / gt))
    close, _ = score_frame(gt * rng.uniform(0.8, 1.2, gt.shape), gt, rgbd, ["raw"])
    assert close.metrics["raw"]["abs_rel"] < constant.metrics["raw"]["abs_rel"]
    near_only = np.where(gt < 5, gt, np.nan)  # right where it predicts, nothing beyond 5 m
    half, _ = score_frame(near_only, gt, rgbd, ["raw"])
    assert half.prediction == 0.5 and half.metrics["raw"]["abs_rel"] > constant.metrics["raw"]["abs_rel"]


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
    scorer.add(np.full((2, 2), np.nan), ones, group="b")  # no prediction: every pixel at 10 m, abs_rel 9
    scorer.add(ones, np.full((2, 2), 20.0), group="b")  # no ground truth in range: skipped
    summary = scorer.summary()
    assert summary["raw"]["abs_rel"] == pytest.approx((1 + 0 + 9) / 3)
    assert summary["raw"]["n_images"] == 3 and summary["raw"]["n_skipped"] == 1
    assert summary["coverage"] == {"gt_in_range": 12 / 16, "prediction": 8 / 12, "scored_pixels": 12}
    assert summary["range"] == {"min_depth": 1e-3, "max_depth": 10.0, "crop": None}
    groups = scorer.group_summaries()
    assert groups["a"]["raw"]["abs_rel"] == pytest.approx(1.0) and groups["a"]["range"] == summary["range"]
    assert groups["b"]["raw"]["abs_rel"] == 4.5 and groups["b"]["coverage"]["prediction"] == 0.5
    assert set(METRIC_KEYS) <= set(summary["raw"])
    text = format_summary(summary)
    assert "raw metric" in text and "3 images (1 without ground truth in range)" in text
    assert "GT 0.001-10 m: 75.0 % of valid GT scored, 33.3 % of it without a prediction" in text


def test_accuracy_line_names_alignment_range_and_coverage():
    scorer = DepthScorer(EvalRange(0.1, 80.0, "garg"), ("raw", "median"))
    gt = np.full((375, 1242), 2.0)
    pred = np.full_like(gt, 3.0)
    pred[200:250] = np.nan
    scorer.add(pred, gt)
    summary = scorer.summary()
    line = accuracy_line("median scale", summary["median"], summary["coverage"], summary["range"])
    assert line.startswith("median scale: AbsRel ") and "RMSE " in line and " m  d1 " in line
    assert line.endswith("(1 frames; GT 0.1-80 m, garg crop: 100.0 % of valid GT scored, 22.9 % of it "
                         "without a prediction (scored as the worst in-range depth))")  # fmt: skip
    metrics, coverage = {"abs_rel": 0.5, "rmse": 1.0, "d1": 0.2}, {"gt_in_range": 0.5, "prediction": 1.0}
    raw = accuracy_line("raw", metrics, coverage, {"min_depth": 1e-3, "max_depth": 10.0})
    assert raw == "raw: AbsRel 0.500  RMSE 1.000 m  d1 0.200 (GT 0.001-10 m: 50.0 % of valid GT scored)"


def test_error_by_distance_bins_are_log_spaced_and_count_missing_predictions():
    scorer = DepthScorer(EvalRange(0.1, 16.0), ("raw",))
    scorer.add(np.array([[1.5, 12.0, np.nan]]), np.array([[1.0, 10.0, 0.2]]))
    bins = scorer.error_by_distance()
    ratio = 160 ** (1 / 16)  # 16 bins from 0.1 to 16 m: 1 m falls in bin 7, 10 m in bin 14, 0.2 m in bin 2
    assert bins["distance_m"][0] == pytest.approx(0.1 * math.sqrt(ratio))
    assert (bins["pixels"][2], bins["pixels"][7], bins["pixels"][14], sum(bins["pixels"])) == (1, 1, 1, 3)
    assert bins["mean_abs_error_m"][7] == pytest.approx(0.5)
    assert bins["abs_rel"][14] == pytest.approx(0.2)
    assert bins["mean_abs_error_m"][2] == pytest.approx(16.0 - 0.2)  # no prediction: the far end of the range


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
