"""The one scorer: which pixels count, how predictions are aligned, how images are averaged.

Every command that scores depth (``disdepth eval``, ``eval-bag``, the demo, training validation, the
benchmarks) goes through :class:`DepthScorer`, so two commands never disagree about one model.

The rule, per image (ground truth ``gt`` and prediction ``pred`` in metres, same size):

1. **Valid ground truth**: finite and > 0 (0 and NaN both mean "no measurement"), inside the crop.
2. **Scored**: valid ground truth inside the evaluation range ``[min_depth, max_depth]``. The range is
   the data's (a dataset protocol, or the command's ``--min-depth/--max-depth``), never the model's, so
   two models on the same data are scored on the same pixels. Its share of the valid ground truth is
   the *coverage* every printed accuracy line carries (``coverage.gt_in_range``).
3. **Every scored pixel counts**, with or without a prediction. Where the prediction is invalid (NaN,
   inf, <= 0) the pixel is scored as the worst depth inside the range: the range end farther from the
   ground truth, in metres for AbsRel, SqRel and RMSE, in log for RMSE log, log10, SILog and the delta
   thresholds. The share of scored pixels with a valid prediction is ``coverage.prediction``.
4. Each alignment (:mod:`disdepth_core.evaluation.alignment`) is fitted on the scored pixels with a
   valid prediction, then the prediction is clipped to ``[min_depth, max_depth]`` (monodepth2) and the
   metrics are computed over every scored pixel. The ``scale_source`` row (when the scorer has one)
   is not fitted to the ground truth: it is the model's depth times the factor a robot's scale source
   chose for that frame (:mod:`disdepth_core.scale`), i.e. what the robot publishes, scored like ``raw``.
5. Dataset figures are the mean of per-image metrics over images with at least one scored pixel
   (the standard protocol); images without one are counted as ``n_skipped``. Coverage figures are
   pixel-weighted over the dataset.

Why 3: a clipped prediction is never farther from the ground truth than the worst in-range depth, so
filling a prediction's holes with any depths never makes its AbsRel, SqRel, RMSE, RMSE log, log10 or
deltas worse (for ``raw``; the aligned modes fit on the valid pixels first): leaving ground truth
unscored can never look better than scoring it. SILog is scale-invariant (a variance), so for it the
worst-case value is a defined penalty, not a bound. A prediction that is valid wherever the ground
truth is (every published model, every disdepth model) gets exactly the standard numbers: with the
NYU (Eigen crop, 1e-3..10 m) and KITTI (Garg crop, 1e-3..80 m) protocols of :mod:`.protocols` they are
the monodepth2 / AdaBins / BTS figures. Those protocols also score every evaluated pixel; BTS replaces
NaN/0 by ``min_depth`` and inf by ``max_depth``, never more harshly than rule 3 does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from disdepth_core.evaluation.alignment import ALIGNMENTS, align
from disdepth_core.evaluation.crops import crop_mask
from disdepth_core.evaluation.metrics import METRIC_KEYS, depth_errors
from disdepth_core.geometry import valid_depth

__all__ = [
    "DISTANCE_BINS",
    "LINEAR_METRICS",
    "SCALE_SOURCE",
    "DepthScorer",
    "EvalRange",
    "FrameScore",
    "score_frame",
    "worst_case",
]

DISTANCE_BINS = 16
SCALE_SOURCE = "scale_source"
"""The row of depth scaled by a robot's scale source (see the module docstring, rule 4)."""


@dataclass(frozen=True)
class EvalRange:
    """Ground-truth depths that are evaluated (metres) and the evaluation crop (None, eigen, garg)."""

    min_depth: float
    max_depth: float
    crop: str | None = None

    def __post_init__(self) -> None:
        if not (np.isfinite(self.min_depth) and np.isfinite(self.max_depth)):
            raise ValueError(f"evaluation range must be finite, got [{self.min_depth}, {self.max_depth}] m")
        if not self.max_depth > self.min_depth > 0:
            raise ValueError(
                f"evaluation range must satisfy 0 < min < max, got [{self.min_depth}, {self.max_depth}] m"
            )
        crop_mask(self.crop, 1, 1)  # validates the crop name


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    array = np.asarray(x, dtype=np.float64)
    return array.squeeze() if array.ndim > 2 else array


@dataclass
class FrameScore:
    """One image's result: metrics per alignment and the pixel counts behind the coverage figures."""

    metrics: dict[str, dict[str, float]]
    gt_valid: int
    scored: int
    predicted: int

    @property
    def gt_in_range(self) -> float:
        """Share of the valid ground truth that is scored (inside the range; NaN without ground truth)."""
        return self.scored / self.gt_valid if self.gt_valid else float("nan")

    @property
    def prediction(self) -> float:
        """Share of the scored pixels with a valid prediction (NaN when nothing is scored)."""
        return self.predicted / self.scored if self.scored else float("nan")

    def row(self) -> dict[str, float]:
        """Flat per-frame values: ``<alignment>_<metric>``, ``n_scored``, ``gt_in_range``, ``prediction``."""
        flat = {
            f"{name}_{key}": value for name, values in self.metrics.items() for key, value in values.items()
        }
        return {
            **flat,
            "n_scored": self.scored,
            "gt_in_range": self.gt_in_range,
            "prediction": self.prediction,
        }


LINEAR_METRICS = ("abs_rel", "sq_rel", "rmse")  # errors in metres; the others are in log or ratio


def worst_case(gt: np.ndarray, eval_range: EvalRange, in_log: bool) -> np.ndarray:
    """The depth inside ``eval_range`` farthest from each ``gt`` (in metres, or in log with ``in_log``):
    what a pixel without a valid prediction is scored as (rule 3 of the module docstring)."""
    low, high = eval_range.min_depth, eval_range.max_depth
    below, above = (np.log(gt / low), np.log(high / gt)) if in_log else (gt - low, high - gt)
    return np.where(below > above, low, high)


def _metrics(aligned: np.ndarray, gt: np.ndarray, missed_gt: np.ndarray, eval_range: EvalRange) -> dict:
    """``depth_errors`` over the predicted pixels plus the missed ones at their worst case."""
    if not missed_gt.size:
        return depth_errors(aligned, gt)
    every_gt = np.concatenate([gt, missed_gt])
    linear, logarithmic = (
        depth_errors(np.concatenate([aligned, worst_case(missed_gt, eval_range, in_log)]), every_gt)
        for in_log in (False, True)
    )
    return {key: (linear if key in LINEAR_METRICS else logarithmic)[key] for key in METRIC_KEYS}


def score_frame(
    pred: Any,
    gt: Any,
    eval_range: EvalRange,
    alignments: Iterable[str] = tuple(ALIGNMENTS),
    source_scale: float | None = None,
) -> tuple[FrameScore, np.ndarray]:
    """Score one image by the module's rule; returns the score and the scored-pixel mask.
    ``source_scale`` adds the ``scale_source`` row (the prediction times that factor)."""
    pred, gt = _as_numpy(pred), _as_numpy(gt)
    if pred.shape != gt.shape:
        raise ValueError(
            f"prediction {pred.shape} and ground truth {gt.shape} differ; resize the prediction first"
        )
    gt_valid = valid_depth(gt) & crop_mask(eval_range.crop, *gt.shape)
    with np.errstate(invalid="ignore"):
        scored = gt_valid & (gt >= eval_range.min_depth) & (gt <= eval_range.max_depth)
    predicted = scored & valid_depth(pred)
    p, g, missed = pred[predicted], gt[predicted], gt[scored & ~predicted]
    metrics = {}
    for name in alignments:
        if not scored.any():
            metrics[name] = dict.fromkeys(METRIC_KEYS, float("nan"))
            continue
        aligned = align(name, p, g, eval_range.min_depth, eval_range.max_depth) if p.size else p
        clipped = np.clip(aligned, eval_range.min_depth, eval_range.max_depth)
        metrics[name] = _metrics(clipped, g, missed, eval_range)
    if source_scale is not None:
        if not scored.any():
            metrics[SCALE_SOURCE] = dict.fromkeys(METRIC_KEYS, float("nan"))
        else:
            scaled = np.clip(p * source_scale, eval_range.min_depth, eval_range.max_depth)
            metrics[SCALE_SOURCE] = _metrics(scaled, g, missed, eval_range)
    return FrameScore(metrics, int(gt_valid.sum()), int(scored.sum()), int(predicted.sum())), scored


@dataclass
class _Totals:
    """Running sums of one group of frames."""

    sums: dict[str, dict[str, float]]
    n_images: int = 0
    n_skipped: int = 0
    gt_valid: int = 0
    scored: int = 0
    predicted: int = 0

    def add(self, score: FrameScore) -> None:
        self.gt_valid += score.gt_valid
        self.scored += score.scored
        self.predicted += score.predicted
        if score.scored == 0:
            self.n_skipped += 1
            return
        self.n_images += 1
        for name, values in score.metrics.items():
            for key, value in values.items():
                self.sums[name][key] += value

    def summary(self) -> dict[str, Any]:
        means = {
            name: {
                **{
                    key: (value / self.n_images if self.n_images else float("nan"))
                    for key, value in sums.items()
                },
                "n_images": self.n_images,
                "n_skipped": self.n_skipped,
            }
            for name, sums in self.sums.items()
        }
        coverage = {
            "gt_in_range": self.scored / self.gt_valid if self.gt_valid else float("nan"),
            "prediction": self.predicted / self.scored if self.scored else float("nan"),
            "scored_pixels": self.scored,
        }
        return {**means, "coverage": coverage}


@dataclass
class DepthScorer:
    """Accumulates :func:`score_frame` over a dataset (optionally by group, e.g. a data source).

    ``summary()`` holds per alignment the mean of each metric plus ``n_images``/``n_skipped``, the
    pixel-weighted ``coverage`` figures (``gt_in_range``, ``prediction``, ``scored_pixels``) and the
    evaluation ``range``; ``error_by_distance()`` bins the raw absolute error by ground-truth distance.
    With ``scale_source`` (the spec a robot used, e.g. ``ground_plane``) every ``add`` takes that frame's
    ``source_scale`` and the summary has a ``scale_source`` row and names the spec.
    """

    eval_range: EvalRange
    alignments: tuple[str, ...] = tuple(ALIGNMENTS)
    scale_source: str | None = None
    _totals: _Totals = field(init=False)
    _groups: dict[str, _Totals] = field(init=False)
    _bin_edges: np.ndarray = field(init=False)
    _bins: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        unknown = [name for name in self.alignments if name not in ALIGNMENTS]
        if unknown:
            raise ValueError(f"unknown alignment(s) {unknown}; choose from {', '.join(ALIGNMENTS)}")
        self._totals = self._new_totals()
        self._groups = {}
        low = max(self.eval_range.min_depth, self.eval_range.max_depth / 1000)  # log bins: near and far
        self._bin_edges = np.geomspace(low, self.eval_range.max_depth, DISTANCE_BINS + 1)
        self._bins = {key: np.zeros(DISTANCE_BINS) for key in ("abs_error", "abs_rel", "count")}

    def _new_totals(self) -> _Totals:
        rows = (*self.alignments, SCALE_SOURCE) if self.scale_source else self.alignments
        return _Totals(sums={name: dict.fromkeys(METRIC_KEYS, 0.0) for name in rows})

    def add(
        self, pred: Any, gt: Any, group: str | None = None, source_scale: float | None = None
    ) -> FrameScore:
        """Score one image, add it to the totals (and to ``group``'s) and return its score."""
        if (source_scale is None) != (self.scale_source is None):
            raise ValueError("source_scale is needed exactly when the scorer has a scale_source row")
        score, scored = score_frame(pred, gt, self.eval_range, self.alignments, source_scale)
        self._totals.add(score)
        if group is not None:
            if group not in self._groups:
                self._groups[group] = self._new_totals()
            self._groups[group].add(score)
        if score.scored:
            self._add_distance_errors(_as_numpy(pred)[scored], _as_numpy(gt)[scored])
        return score

    def _add_distance_errors(self, pred: np.ndarray, gt: np.ndarray) -> None:
        """Raw absolute errors by distance; a pixel without a valid prediction at its worst case (metres)."""
        missing = ~valid_depth(pred)
        if missing.any():
            pred = pred.copy()
            pred[missing] = worst_case(gt[missing], self.eval_range, in_log=False)
        clipped = np.clip(pred, self.eval_range.min_depth, self.eval_range.max_depth)
        index = np.clip(np.digitize(gt, self._bin_edges) - 1, 0, DISTANCE_BINS - 1)
        error = np.abs(clipped - gt)
        self._bins["abs_error"] += np.bincount(index, weights=error, minlength=DISTANCE_BINS)
        self._bins["abs_rel"] += np.bincount(index, weights=error / gt, minlength=DISTANCE_BINS)
        self._bins["count"] += np.bincount(index, minlength=DISTANCE_BINS)

    @property
    def n_images(self) -> int:
        return self._totals.n_images

    def summary(self) -> dict[str, Any]:
        """Dataset figures (see the class docstring) and the evaluation range."""
        return {**self._totals.summary(), "range": self._range_dict(), **self._source()}

    def group_summaries(self) -> dict[str, dict[str, Any]]:
        """``summary()`` of each group, by group name (sorted)."""
        return {
            name: {**self._groups[name].summary(), "range": self._range_dict(), **self._source()}
            for name in sorted(self._groups)
        }

    def _source(self) -> dict[str, str]:
        return {"scale_source_spec": self.scale_source} if self.scale_source else {}

    def _range_dict(self) -> dict[str, Any]:
        r = self.eval_range
        return {"min_depth": r.min_depth, "max_depth": r.max_depth, "crop": r.crop}

    def error_by_distance(self) -> dict[str, list[float]]:
        """Per ground-truth distance bin (``DISTANCE_BINS`` log-spaced up to ``max_depth``, the first from
        ``max(min_depth, max_depth / 1000)``): centre (m), mean absolute error (m), AbsRel, pixel count."""
        count = self._bins["count"]
        with np.errstate(invalid="ignore", divide="ignore"):
            mae = self._bins["abs_error"] / count
            abs_rel = self._bins["abs_rel"] / count
        return {
            "distance_m": np.sqrt(self._bin_edges[:-1] * self._bin_edges[1:]).tolist(),
            "mean_abs_error_m": mae.tolist(),
            "abs_rel": abs_rel.tolist(),
            "pixels": count.astype(np.int64).tolist(),
        }
