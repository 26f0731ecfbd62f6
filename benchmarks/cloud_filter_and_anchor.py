"""The node's flying-pixel filter and sparse-depth scale anchor on real RGB-D frames (a script, not a test).

For every frame of an RGB-D folder (default ``../shared/data/real_dev``) the model predicts depth as the
node does (camera-aware models get fx from K, or the sensor's nominal K), read by `RGBDFolder` and scored
by `DepthScorer` (the `rgbd` protocol's 0.1-80 m), then:

1. **Flying-pixel filter** (``flying_pixel_threshold``, ``disdepth_core.geometry.depth_discontinuities``
   on the cloud grid, default stride 2) on the frames with dense ground truth: the share of cloud points
   removed, and how wrong the removed and the kept points are. "Wrong" is judged after median scaling
   (so a model's global scale error does not count): a point is an outlier when its scaled depth is off
   by more than 25 % (off the delta1.25 band).
2. **Sparse-depth scale** (the ``sparse_depth`` scale source of ``disdepth_core.scale``): a
   sensor that measures ``--sensor-fraction`` of the valid ground-truth pixels (random, seeded; a
   16-beam LiDAR projected into a 640x480 image covers about 2 %) gives each frame's scale; the depth is
   scored on the other pixels, raw and anchored, per source.

    .venv/bin/python benchmarks/cloud_filter_and_anchor.py [--model M] [--data ../shared/data/real_dev]
        [--thresholds 0.05 0.1 0.2] [--stride 2] [--sensor-fraction 0.02]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from disdepth_core.data.rgbd_folder import RGBDFolder
from disdepth_core.deployment import open_estimator
from disdepth_core.evaluation import DepthScorer
from disdepth_core.evaluation.protocols import protocol_for
from disdepth_core.geometry import depth_discontinuities, valid_depth
from disdepth_core.runtime.options import RuntimeOptions
from disdepth_core.scale import FrameContext, ScaleSettings, build_scale_source
from disdepth_core.scale.ratios import ratio_of_medians

ROOT = Path(__file__).resolve().parents[1]
DENSE_SOURCES = ("realsense_ty", "sevenscenes", "graspnet")
EVAL_RANGE = protocol_for("rgbd")


def filter_figures(
    pred: np.ndarray, gt: np.ndarray, threshold: float, stride: int
) -> tuple[int, int, int, int]:
    """(kept points, removed points, outliers among kept, outliers among removed) on the cloud grid."""
    p, g = pred[::stride, ::stride], gt[::stride, ::stride]
    with np.errstate(invalid="ignore"):
        valid = (g >= EVAL_RANGE.min_depth) & (g <= EVAL_RANGE.max_depth) & valid_depth(p)
    scale = ratio_of_medians(g[valid], p[valid])
    if scale is None:  # no pixel to score
        return 0, 0, 0, 0
    scaled = p * scale
    outlier = np.zeros_like(valid)
    outlier[valid] = np.maximum(scaled[valid] / g[valid], g[valid] / scaled[valid]) > 1.25
    removed = depth_discontinuities(p, threshold) & valid
    kept = valid & ~removed
    return int(kept.sum()), int(removed.sum()), int((outlier & kept).sum()), int((outlier & removed).sum())


def simulated_sensor(gt: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Ground truth at a random ``fraction`` of its valid pixels, 0 elsewhere (a sparse sensor)."""
    with np.errstate(invalid="ignore"):
        valid = (gt >= EVAL_RANGE.min_depth) & (gt <= EVAL_RANGE.max_depth)
    return np.where(valid & (rng.random(gt.shape) < fraction), gt, 0.0).astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "disdepth_default.onnx"))
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "real_dev"))
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.05, 0.1, 0.2])
    parser.add_argument("--stride", type=int, default=2)
    parser.add_argument("--sensor-fraction", type=float, default=0.02)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    folder = RGBDFolder(args.data)
    estimator = open_estimator(args.model, RuntimeOptions(threads=args.threads))
    print(f"model: {estimator.describe()}\nframes: {len(folder)} in {args.data}")
    rng = np.random.default_rng(0)
    filters = {t: np.zeros(4, np.int64) for t in args.thresholds}
    scorers = {name: DepthScorer(EVAL_RANGE, ("raw",)) for name in ("raw", "anchored")}
    sensor_points: dict[str, list[int]] = {}
    source = build_scale_source("sparse_depth", ScaleSettings(sparse_min_points=20))  # frames independent
    for frame in folder:
        fx = float(frame.K[0, 0]) if frame.K is not None else None
        pred = estimator.predict(frame.image, fx=fx).depth
        if frame.source in DENSE_SOURCES:
            for threshold in args.thresholds:
                filters[threshold] += filter_figures(pred, frame.depth, threshold, args.stride)
        sparse = simulated_sensor(frame.depth, args.sensor_fraction, rng)
        estimate = source.observe(pred, FrameContext(sparse_depth=sparse))
        scored_gt = np.where(sparse > 0, 0.0, frame.depth)  # scored on the pixels the sensor did not measure
        scorers["raw"].add(pred, scored_gt, group=frame.source)
        scorers["anchored"].add(pred * np.float32(estimate.scale or 1.0), scored_gt, group=frame.source)
        sensor_points.setdefault(frame.source, []).append(estimate.support)

    print(
        f"\nflying-pixel filter on the dense-GT frames ({', '.join(DENSE_SOURCES)}), cloud stride "
        f"{args.stride}; outlier = off by > 25 % after median scaling:"
    )
    print("threshold | points removed | outliers among removed | outliers among kept")
    for threshold, (kept, removed, bad_kept, bad_removed) in filters.items():
        print(
            f"{threshold:9g} | {removed / (kept + removed):14.1%} | {bad_removed / max(removed, 1):22.1%} "
            f"| {bad_kept / max(kept, 1):19.1%}"
        )
    print(
        f"\nsparse-depth anchor, sensor = {args.sensor_fraction:.0%} of the valid GT pixels, "
        "scored on the rest:"
    )
    print("source | frames | sensor points (median) | raw AbsRel | anchored AbsRel | raw d1 | anchored d1")
    raw_groups, anchored_groups = (scorers[name].group_summaries() for name in ("raw", "anchored"))
    rows = {
        "all": (
            scorers["raw"].summary(),
            scorers["anchored"].summary(),
            [n for pts in sensor_points.values() for n in pts],
        )
    }
    rows |= {g: (raw_groups[g], anchored_groups[g], sensor_points[g]) for g in raw_groups}
    for source, (raw, anchored, points) in rows.items():
        raw, anchored = raw["raw"], anchored["raw"]
        print(
            f"{source} | {raw['n_images']} | {int(np.median(points))} | {raw['abs_rel']:.3f} | "
            f"{anchored['abs_rel']:.3f} | {raw['d1']:.3f} | {anchored['d1']:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
