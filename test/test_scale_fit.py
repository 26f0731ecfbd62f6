"""Metric scale sources of relative teachers, the time split and the per-frame labels of a frame cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from disdepth_core.evaluation import EvalRange
from disdepth_core.files import write_json
from disdepth_core.models.teachers.output import MetricScale, parse_fixed_scale
from disdepth_core.recipes.distill_bag.cache import FrameCache, frame_path
from disdepth_core.recipes.distill_bag.labels import CachedFrames, fit_labels, measure_alignment, write_labels
from disdepth_core.recipes.distill_bag.split import check_split_sizes, split_by_time
from disdepth_core.train.label_scale import parse_label_scale
from disdepth_core.train.scale_fit import MIN_POINTS, fit_frame, fit_global

RANGE = (0.1, 20.0)


def _scene(seed: int, shape=(24, 32)) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 8.0, shape)


def test_scale_source_parsing():
    topic = parse_label_scale("topic")
    assert (topic.name, topic.argument, topic.per_frame) == ("topic", "", True)
    assert parse_label_scale("fit:lsq").mode_for("relative_depth") == "lsq"
    assert topic.mode_for("relative_inverse_depth") == "lsq"
    assert topic.mode_for("relative_depth") == "median"
    assert str(parse_label_scale("fixed:2,0.5")) == "fixed:2,0.5"
    for bad in ("bogus", "fixed", "topic:mean"):
        with pytest.raises(ValueError):
            parse_label_scale(bad)
    with pytest.raises(ValueError, match=r"expected one of fit.*, fixed:SCALE"):
        parse_label_scale("topic", in_bag=False)
    assert parse_label_scale("fit").missing_input(depth_topic=False, scale_data=False) is not None
    assert parse_label_scale("fit").missing_input(depth_topic=False, scale_data=True) is None
    assert "--depth-topic" in topic.missing_input(depth_topic=False, scale_data=True)
    assert parse_fixed_scale("2.5", "relative_depth") == MetricScale(
        "relative_depth", 2.5, 0.0, "fixed scale fixed:2.5"
    )


@pytest.mark.parametrize(
    ("kind", "mode", "scale", "shift"),
    [
        ("relative_depth", "median", 2.5, 0.0),
        ("relative_depth", "lsq", 1.7, 0.3),
        ("relative_inverse_depth", "lsq", 0.4, 0.05),
        ("relative_inverse_depth", "median", 0.8, 0.0),
    ],
)
def test_frame_fit_recovers_a_known_alignment_from_sparse_depth(kind, mode, scale, shift):
    depth = _scene(0)
    raw = (depth - shift) / scale if kind == "relative_depth" else (1.0 / depth - shift) / scale
    sparse = np.where(np.random.default_rng(1).random(depth.shape) < 0.2, depth, np.nan)
    fitted = fit_frame(raw, sparse, kind, mode, RANGE, "test")
    assert fitted.scale == pytest.approx(scale, rel=1e-6) and fitted.shift == pytest.approx(shift, abs=1e-6)
    metres = fitted.to_metric(torch.from_numpy(raw), *RANGE).numpy()
    assert np.allclose(metres, depth, rtol=1e-5)


def test_fits_need_enough_points_and_a_positive_scale():
    depth = _scene(2)
    few = np.full(depth.shape, np.nan)
    few.flat[: MIN_POINTS - 1] = depth.flat[: MIN_POINTS - 1]
    assert fit_frame(depth, few, "relative_depth", "median", RANGE, "t") is None
    assert fit_frame(-depth, depth, "relative_depth", "median", RANGE, "t") is None  # no positive raw values
    with pytest.raises(ValueError, match="no frame with at least"):
        fit_global([(depth, few)], "relative_depth", "median", RANGE, "t")


def test_median_fit_is_the_ratio_of_medians_over_valid_pixels_in_range():
    raw = 0.5 * np.arange(1, 21)  # 0.5 .. 10, median 5.25
    gt = np.where(np.arange(1, 21) <= 10, 3 * raw, raw)  # median of the 20 values: (7.5 + 8) / 2 = 7.75
    # pixels that must not count: an invalid raw value, or ground truth invalid or outside RANGE
    bad_raw = [np.nan, 0.0, -1.0, np.inf, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    bad_gt = [5.0, 5.0, 5.0, 5.0, np.nan, 0.0, -2.0, np.inf, 25.0, 0.05]
    fitted = fit_frame(
        np.concatenate([raw, bad_raw]), np.concatenate([gt, bad_gt]), "relative_depth", "median", RANGE, "t"
    )
    assert fitted.scale == pytest.approx(7.75 / 5.25, rel=1e-12) and fitted.shift == 0.0  # not 2 (ratios)
    pairs = [(raw, gt), (raw, 2 * raw)]  # the global median fit: median of the frames' scales
    fitted = fit_global(pairs, "relative_depth", "median", RANGE, "t")
    assert fitted.scale == pytest.approx((7.75 / 5.25 + 2) / 2)


def test_global_fit_pools_frames():
    pairs = [(_scene(s) / 3.0, _scene(s)) for s in range(4)]
    for mode in ("median", "lsq"):
        fitted = fit_global(pairs, "relative_depth", mode, RANGE, "test")
        assert fitted.scale == pytest.approx(3.0, rel=1e-6) and fitted.shift == pytest.approx(0.0, abs=1e-6)
        assert "4 frames" in fitted.source


def test_split_by_time_per_bag_with_a_gap():
    frames = [{"id": i, "bag": 0, "stamp_ns": i * 100_000_000} for i in range(11)]  # 0..1 s, 10 Hz
    frames += [{"id": 11 + i, "bag": 1, "stamp_ns": 5 * 10**9 + i * 10**9} for i in range(5)]
    split = split_by_time(frames, 0.2, gap_s=0.25)
    assert [split[i] for i in range(11)] == ["train"] * 6 + ["gap"] * 2 + ["heldout"] * 3
    assert [split[11 + i] for i in range(5)] == ["train"] * 3 + ["gap"] + [
        "heldout"
    ]  # 4 s span: cut at 3.2 s
    assert check_split_sizes(split, 9) == (9, 4, 3)
    with pytest.raises(ValueError, match="too few frames"):
        check_split_sizes(split, 10)


def _write_cache(root, raws, depths, stamps):
    """A frame cache written by hand (same layout as the pseudo-label stage's)."""
    entries = []
    for i, (raw, depth, stamp) in enumerate(zip(raws, depths, stamps, strict=True)):
        arrays = {
            "image": np.zeros((*raw.shape, 3), np.uint8),
            "raw": raw.astype(np.float32),
            "stamp": np.int64(stamp),
            "bag": np.int64(0),
            "native_hw": np.asarray(raw.shape, np.int64),
        }
        if depth is not None:
            arrays["depth"] = depth.astype(np.float32)
        frame_path(root, i).parent.mkdir(parents=True, exist_ok=True)
        np.savez(frame_path(root, i), **arrays)
        entries.append({"id": i, "bag": 0, "stamp_ns": stamp, "has_depth": depth is not None, "K": None})
    write_json(root / "index.json", {"key": {}, "frames": entries})
    return FrameCache(root)


def test_topic_labels_fit_each_paired_frame_and_the_global_fit_ignores_held_out_frames(tmp_path):
    scales = [2.0, 2.2, 1.8, 2.1, 9.0, 9.0]  # held-out frames (4, 5) have another scale: must not leak
    raws = [_scene(10 + i) for i in range(6)]
    depths = [s * r for s, r in zip(scales, raws, strict=True)]
    depths[3] = None  # an unpaired training frame
    rng = np.random.default_rng(0)
    depths = [None if d is None else np.where(rng.random(d.shape) < 0.1, d, 0) for d in depths]
    cache = _write_cache(tmp_path, raws, depths, [i * 10**9 for i in range(6)])
    split = {0: "train", 1: "train", 2: "train", 3: "train", 4: "heldout", 5: "heldout"}
    per_frame, report = fit_labels(
        cache, split, "relative_depth", parse_label_scale("topic:median"), (0.1, 200.0)
    )
    assert report.per_frame == 5 and report.fallback == 1
    assert report.global_scale.scale == pytest.approx(2.0, rel=1e-6)  # median of the paired training frames
    for i in (0, 1, 2, 4, 5):
        assert per_frame[i].scale == pytest.approx(scales[i], rel=1e-6)
    assert per_frame[3] == report.global_scale
    report.quality = measure_alignment(cache, split, per_frame, EvalRange(0.1, 200.0))
    assert report.quality["train"]["raw"]["abs_rel"] < 1e-5
    assert report.quality["heldout"]["raw"]["n_images"] == 2
    write_labels(tmp_path, split, per_frame, report, (0.1, 200.0))
    labels = json.loads((tmp_path / "labels.json").read_text())
    assert labels["per_frame_fits"] == 5 and labels["frames"]["3"]["scale"]["scale"] == pytest.approx(2.0)
    train = CachedFrames(tmp_path, "train")
    assert len(train) == 4 and np.allclose(train[1]["depth"], np.clip(2.2 * raws[1], 0.1, 200.0), rtol=1e-5)
    assert len(CachedFrames(tmp_path, "heldout")) == 2


def test_fixed_and_metric_sources(tmp_path):
    raws = [_scene(20 + i) for i in range(3)]
    cache = _write_cache(tmp_path, raws, [None] * 3, [0, 1, 2])
    split = dict.fromkeys(range(3), "train")
    per_frame, report = fit_labels(cache, split, "relative_depth", parse_label_scale("fixed:3,1"), RANGE)
    assert (
        per_frame[0] == MetricScale("relative_depth", 3.0, 1.0, "fixed scale fixed:3,1")
        and report.per_frame == 0
    )
    per_frame, _ = fit_labels(cache, split, "metric_depth", None, RANGE)
    assert per_frame[2].identity


def test_a_registered_label_scale_source_is_listed_and_used(monkeypatch):
    """A new source is one class and one decorator: parsed, listed in the help, used by the scale stage."""
    from disdepth_core.train.label_scale import (
        LabelScaleSource,
        label_scale_usage,
        register_label_scale,
        registry,
    )

    monkeypatch.setattr(registry, "_SOURCES", dict(registry._SOURCES))

    @register_label_scale
    class Halved(LabelScaleSource):
        name = "halved"
        usage = "halved"
        summary = "half the raw output"
        fits = False

        def global_scale(self, output_kind, pairs, depth_range, where):
            return MetricScale(output_kind, 0.5, 0.0, "halved")

    assert "halved (half the raw output)" in label_scale_usage(in_bag=False)
    with pytest.raises(ValueError, match="already registered"):
        register_label_scale(Halved)
    source = parse_label_scale("halved")
    scale = source.global_scale("relative_depth", (), RANGE, "")
    assert scale == MetricScale("relative_depth", 0.5, 0.0, "halved")
