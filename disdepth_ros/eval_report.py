"""Scoring and report files shared by `eval-bag` and the demo (no ROS imports).

- `DepthScorer`: per-frame `disdepth_core.metrics.compute_depth_metrics`, raw (metric depth as
  predicted) and median-aligned (monodepth2 scale alignment), averaged per image by
  `MetricAccumulator` (the standard protocol), plus the prediction's coverage of valid ground truth
  (metrics only see pixels where both are valid, so a model that outputs NaN everywhere would
  otherwise look perfect) and the absolute error binned by ground-truth distance.
- `depth_stats`, `percentiles`: per-frame depth statistics and latency percentiles.
- `write_json` (NaN -> null, so the file is strict JSON) and `write_csv`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.metrics import METRIC_KEYS, MetricAccumulator, compute_depth_metrics, valid_mask

__all__ = ["DepthScorer", "depth_stats", "percentiles", "write_csv", "write_json"]

ALIGNMENTS = {"raw": None, "median": "median"}
DISTANCE_BINS = 16


class DepthScorer:
    """Accumulates metrics of predicted vs ground-truth depth frames (float32 metres, NaN/0 invalid).

    `min_depth`/`max_depth`/`crop` select the evaluated ground-truth pixels (see `compute_depth_metrics`).
    """

    def __init__(self, min_depth: float, max_depth: float, crop: str | None = None) -> None:
        if not max_depth > min_depth >= 0:
            raise ValueError(
                f"evaluation range must satisfy 0 <= min < max, got [{min_depth}, {max_depth}] m"
            )
        self.min_depth = float(min_depth)
        self.max_depth = float(max_depth)
        self.crop = crop
        self.accumulators = {name: MetricAccumulator() for name in ALIGNMENTS}
        self.bin_edges = np.linspace(0.0, self.max_depth, DISTANCE_BINS + 1)
        self._abs_error_sum = np.zeros(DISTANCE_BINS)
        self._abs_rel_sum = np.zeros(DISTANCE_BINS)
        self._bin_count = np.zeros(DISTANCE_BINS, dtype=np.int64)
        self._covered = 0
        self._gt_valid = 0

    def add(self, pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
        """Score one frame; returns flat per-frame values: `<metric>` (raw), `median_<metric>`,
        `n_valid` and `coverage` (fraction of valid ground-truth pixels with a valid prediction)."""
        kwargs = {"min_depth": self.min_depth, "max_depth": self.max_depth, "crop": self.crop}
        row: dict[str, float] = {}
        for name, align in ALIGNMENTS.items():
            metrics = compute_depth_metrics(pred, gt, align=align, **kwargs)
            self.accumulators[name].update(metrics)
            prefix = "" if name == "raw" else f"{name}_"
            row.update({f"{prefix}{key}": metrics[key] for key in METRIC_KEYS})
            row["n_valid"] = metrics["n_valid"]
        gt_valid = valid_mask(gt, **kwargs)
        both = gt_valid & np.isfinite(pred)
        self._gt_valid += int(gt_valid.sum())
        self._covered += int(both.sum())
        row["coverage"] = float(both.sum() / gt_valid.sum()) if gt_valid.any() else float("nan")
        self._add_distance_errors(pred[both], gt[both])
        return row

    def _add_distance_errors(self, pred: np.ndarray, gt: np.ndarray) -> None:
        clipped = np.clip(pred, self.min_depth, self.max_depth)  # as compute_depth_metrics does
        index = np.clip(np.digitize(gt, self.bin_edges) - 1, 0, DISTANCE_BINS - 1)
        error = np.abs(clipped - gt)
        self._abs_error_sum += np.bincount(index, weights=error, minlength=DISTANCE_BINS)
        self._abs_rel_sum += np.bincount(index, weights=error / gt, minlength=DISTANCE_BINS)
        self._bin_count += np.bincount(index, minlength=DISTANCE_BINS)

    def summary(self) -> dict[str, Any]:
        """Dataset means per alignment (`raw`, `median`), overall coverage and the evaluation range."""
        return {
            **{name: acc.compute() for name, acc in self.accumulators.items()},
            "coverage": self._covered / self._gt_valid if self._gt_valid else float("nan"),
            "min_depth": self.min_depth,
            "max_depth": self.max_depth,
            "crop": self.crop,
        }

    def error_by_distance(self) -> dict[str, list[float]]:
        """Per ground-truth distance bin: centre (m), mean absolute error (m), AbsRel and pixel count."""
        with np.errstate(invalid="ignore", divide="ignore"):
            mae = self._abs_error_sum / self._bin_count
            abs_rel = self._abs_rel_sum / self._bin_count
        return {
            "distance_m": ((self.bin_edges[:-1] + self.bin_edges[1:]) / 2).tolist(),
            "mean_abs_error_m": mae.tolist(),
            "abs_rel": abs_rel.tolist(),
            "pixels": self._bin_count.tolist(),
        }


def depth_stats(depth: np.ndarray) -> dict[str, float]:
    """Valid fraction and min/median/max (metres) of a depth map with NaN for invalid."""
    valid = depth[np.isfinite(depth)]
    if valid.size == 0:
        return {"valid_fraction": 0.0, "min_m": math.nan, "median_m": math.nan, "max_m": math.nan}
    return {
        "valid_fraction": valid.size / depth.size,
        "min_m": float(valid.min()),
        "median_m": float(np.median(valid)),
        "max_m": float(valid.max()),
    }


def percentiles(values: Sequence[float], qs: Iterable[int] = (50, 95)) -> dict[str, float]:
    """`{"p50": ..., "p95": ..., "mean": ...}` of `values` (NaN when empty)."""
    data = np.asarray(values, dtype=np.float64)
    result = {f"p{q}": float(np.percentile(data, q)) if data.size else math.nan for q in qs}
    result["mean"] = float(data.mean()) if data.size else math.nan
    return result


def _strict(value: Any) -> Any:
    """Replace non-finite floats by None, recursively (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    if isinstance(value, np.generic):
        return _strict(value.item())
    return value


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """Write `payload` as indented strict JSON (NaN/inf become null)."""
    path.write_text(json.dumps(_strict(payload), indent=2) + "\n", encoding="utf-8")


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Write `rows` with `columns` (missing values empty; floats with 6 significant digits)."""

    def cell(value: Any) -> Any:
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.6g}"
        return "" if value is None else value

    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row.get(column)) for column in columns])
