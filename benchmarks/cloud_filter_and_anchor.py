"""The node's flying-pixel filter and sparse-depth scale anchor on real RGB-D frames (a script, not a test).

For every frame of an RGB-D folder (default ``../shared/data/real_dev``) the model predicts depth as the
node does (camera-aware models get fx from K), then:

1. **Flying-pixel filter** (``flying_pixel_threshold``, ``disdepth_core.geometry.depth_discontinuities``
   on the cloud grid, default stride 2) on the frames with dense ground truth: the share of cloud points
   removed, and how wrong the removed and the kept points are. "Wrong" is judged after median scaling
   (so a model's global scale error does not count): a point is an outlier when its scaled depth is off
   by more than 25 % (off the delta1.25 band).
2. **Sparse-depth anchor** (``disdepth_core.serving.ScaleAnchor``, as with ``use_sparse_depth``): a
   sensor that measures ``--sensor-fraction`` of the valid ground-truth pixels (random, seeded; a
   16-beam LiDAR projected into a 640x480 image covers about 2 %) gives each frame's scale; the depth is
   scored on the other pixels, raw and anchored, per source.

    .venv/bin/python benchmarks/cloud_filter_and_anchor.py [--model M] [--data ../shared/data/real_dev]
        [--thresholds 0.05 0.1 0.2] [--stride 2] [--sensor-fraction 0.02]
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import numpy as np

from disdepth_core.deployment import open_estimator
from disdepth_core.evaluation.metrics import depth_errors
from disdepth_core.geometry import depth_discontinuities
from disdepth_core.runtime.options import RuntimeOptions
from disdepth_core.serving.scale_anchor import ScaleAnchor

ROOT = Path(__file__).resolve().parents[1]
DENSE_SOURCES = ("realsense_ty", "7scenes", "graspnet")


def _source(path: Path) -> str:
    return next((s for s in ("realsense_ty", "7scenes", "graspnet", "dgp", "kitti_obj", "opencalib")
                 if path.name.startswith(s)), path.name.rsplit("_", 1)[0])  # fmt: skip


def _valid(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    return np.isfinite(gt) & (gt > 0.1) & (gt < 80.0) & np.isfinite(pred) & (pred > 0)


def filter_figures(
    pred: np.ndarray, gt: np.ndarray, threshold: float, stride: int
) -> tuple[int, int, int, int]:
    """(kept points, removed points, outliers among kept, outliers among removed) on the cloud grid."""
    p, g = pred[::stride, ::stride], gt[::stride, ::stride]
    valid = _valid(g, p)
    scaled = p * (np.median(g[valid]) / np.median(p[valid]))
    outlier = np.zeros_like(valid)
    outlier[valid] = np.maximum(scaled[valid] / g[valid], g[valid] / scaled[valid]) > 1.25
    removed = depth_discontinuities(p, threshold) & valid
    kept = valid & ~removed
    return int(kept.sum()), int(removed.sum()), int((outlier & kept).sum()), int((outlier & removed).sum())


def anchor_figures(pred: np.ndarray, gt: np.ndarray, fraction: float, rng: np.random.Generator) -> dict:
    """Raw and anchored metrics on the pixels the simulated sensor did not measure."""
    valid = _valid(gt, pred)
    sensor = valid & (rng.random(gt.shape) < fraction)
    sparse = np.where(sensor, gt, 0.0).astype(np.float32)
    estimate = ScaleAnchor(min_points=20, smoothing=1.0).update(pred, sparse)  # frames are independent
    scored = valid & ~sensor
    raw = depth_errors(pred[scored], gt[scored])
    anchored = depth_errors(pred[scored] * estimate.scale, gt[scored])
    return {"raw": raw, "anchored": anchored, "points": estimate.points}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "disdepth_default.onnx"))
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "real_dev"))
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.05, 0.1, 0.2])
    parser.add_argument("--stride", type=int, default=2)
    parser.add_argument("--sensor-fraction", type=float, default=0.02)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    files = sorted(Path(args.data).glob("*.npz"))
    if not files:
        parser.error(f"no .npz frames in {args.data}")
    estimator = open_estimator(args.model, RuntimeOptions(threads=args.threads))
    print(f"model: {estimator.describe()}\nframes: {len(files)} in {args.data}")
    rng = np.random.default_rng(0)
    filters = {t: np.zeros(4, np.int64) for t in args.thresholds}
    anchors: dict[str, list] = collections.defaultdict(list)
    for path in files:
        with np.load(path) as frame:
            rgb, gt, k = frame["rgb"], frame["depth"].astype(np.float32), frame["K"]
        fx = float(k[0, 0]) if k[0, 0] > 0 else None
        pred = estimator.predict(rgb, fx=fx).depth
        source = _source(path)
        if source in DENSE_SOURCES:
            for threshold in args.thresholds:
                filters[threshold] += filter_figures(pred, gt, threshold, args.stride)
        anchors[source].append(anchor_figures(pred, gt, args.sensor_fraction, rng))
        anchors["all"].append(anchors[source][-1])

    print(f"\nflying-pixel filter on the dense-GT frames ({', '.join(DENSE_SOURCES)}), cloud stride "
          f"{args.stride}; outlier = off by > 25 % after median scaling:")  # fmt: skip
    print("threshold | points removed | outliers among removed | outliers among kept")
    for threshold, (kept, removed, bad_kept, bad_removed) in filters.items():
        print(f"{threshold:9g} | {removed / (kept + removed):14.1%} | {bad_removed / max(removed, 1):22.1%} "
              f"| {bad_kept / max(kept, 1):19.1%}")  # fmt: skip
    print(
        f"\nsparse-depth anchor, sensor = {args.sensor_fraction:.0%} of the valid GT pixels, "
        "scored on the rest:"
    )
    print("source | frames | sensor points (median) | raw AbsRel | anchored AbsRel | raw d1 | anchored d1")
    for source, rows in sorted(anchors.items()):
        mean = {key: {m: float(np.mean([r[key][m] for r in rows])) for m in ("abs_rel", "d1")}
                for key in ("raw", "anchored")}  # fmt: skip
        points = int(np.median([r["points"] for r in rows]))
        raw, anchored = mean["raw"], mean["anchored"]
        print(f"{source} | {len(rows)} | {points} | {raw['abs_rel']:.3f} | {anchored['abs_rel']:.3f} | "
              f"{raw['d1']:.3f} | {anchored['d1']:.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
