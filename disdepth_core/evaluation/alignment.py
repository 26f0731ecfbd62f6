"""Alignment of a predicted depth map to ground truth before scoring (one function per mode).

- ``raw``: metric depth as predicted (what a robot gets).
- ``median``: per-image scale ``median(gt) / median(pred)`` (monodepth2, Zhou et al. 2017; the ratio
  rule of :mod:`disdepth_core.scale.ratios`).
- ``lsq_scale``: per-image least-squares scale ``s = <pred, gt> / <pred, pred>`` in depth.
- ``lsq_scale_shift_inv``: per-image least-squares scale and shift in inverse depth,
  ``a / pred + b ~ 1 / gt`` (MiDaS, Ranftl et al. 2020), the fair comparison for relative-depth models;
  the aligned inverse depth is clipped to ``[1 / max_depth, 1 / min_depth]`` before inverting.

Every mode fits on the scored pixels with a valid prediction (ground truth valid, in range and crop);
:mod:`disdepth_core.evaluation.scoring` says how pixels without a prediction count.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from disdepth_core.scale.ratios import ratio_of_medians

__all__ = ["ALIGNMENTS", "ALIGNMENT_LABELS", "align"]


def _raw(pred: np.ndarray, gt: np.ndarray, min_depth: float, max_depth: float) -> np.ndarray:
    return pred


def _median(pred: np.ndarray, gt: np.ndarray, min_depth: float, max_depth: float) -> np.ndarray:
    return pred * ratio_of_medians(gt, pred)


def _lsq_scale(pred: np.ndarray, gt: np.ndarray, min_depth: float, max_depth: float) -> np.ndarray:
    return pred * (np.dot(pred, gt) / np.dot(pred, pred))


def _lsq_scale_shift_inv(pred: np.ndarray, gt: np.ndarray, min_depth: float, max_depth: float) -> np.ndarray:
    inverse_pred, inverse_gt = 1.0 / pred, 1.0 / gt
    design = np.stack([inverse_pred, np.ones_like(inverse_pred)], axis=1)
    (scale, shift), *_ = np.linalg.lstsq(design, inverse_gt, rcond=None)
    aligned = np.clip(scale * inverse_pred + shift, 1.0 / max_depth, 1.0 / min_depth)
    return 1.0 / aligned


ALIGNMENTS: dict[str, Callable[[np.ndarray, np.ndarray, float, float], np.ndarray]] = {
    "raw": _raw,
    "median": _median,
    "lsq_scale": _lsq_scale,
    "lsq_scale_shift_inv": _lsq_scale_shift_inv,
}
ALIGNMENT_LABELS = {
    "raw": "raw metric",
    "median": "median scale",
    "lsq_scale": "LSQ scale",
    "lsq_scale_shift_inv": "LSQ scale+shift (inverse depth)",
}


def align(mode: str, pred: np.ndarray, gt: np.ndarray, min_depth: float, max_depth: float) -> np.ndarray:
    """``pred`` (1-D, the scored pixels, float64, > 0) aligned to ``gt`` by ``mode``."""
    function = ALIGNMENTS.get(mode)
    if function is None:
        raise ValueError(f"unknown alignment {mode!r}; choose one of {', '.join(ALIGNMENTS)}")
    return function(pred, gt, min_depth, max_depth)
