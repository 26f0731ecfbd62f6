"""The one rule for turning reference depth and predicted depth into one scale factor.

Two rules exist in the literature and both are used here, each for one job:

- :func:`median_of_ratios` ``median(reference_i / prediction_i)`` over paired points: what every *scale
  source* uses (sparse depth, a range beam, the floor). Each measurement votes for a scale, so a
  minority of bad sensor points (multipath, a LiDAR point seen past an edge) cannot move the result,
  and it does not matter how the points are spread over near and far depths.
- :func:`ratio_of_medians` ``median(reference) / median(prediction)``: monodepth2's per-image median
  scaling (Zhou et al. 2017), used only where results must stay comparable with published
  evaluations (the ``median`` alignment of :mod:`disdepth_core.evaluation.alignment`, teacher fits).

Both take only pixels where both values are valid depths (finite and > 0,
:func:`disdepth_core.geometry.valid_depth`); both return None with fewer than ``min_points`` such pixels.
"""

from __future__ import annotations

import numpy as np

from disdepth_core.geometry import valid_depth

__all__ = ["median_of_ratios", "ratio_of_medians", "valid_pairs"]


def valid_pairs(reference: np.ndarray, prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values of both arrays (same shape) where both are valid depths (:func:`valid_depth`)."""
    reference, prediction = np.asarray(reference), np.asarray(prediction)
    if reference.shape != prediction.shape:
        raise ValueError(f"reference {reference.shape} and prediction {prediction.shape} differ in shape")
    keep = valid_depth(reference) & valid_depth(prediction)
    return reference[keep], prediction[keep]


def median_of_ratios(reference: np.ndarray, prediction: np.ndarray, min_points: int = 1) -> float | None:
    """``median(reference / prediction)`` over valid pairs (the scale sources' rule), or None."""
    ref, pred = valid_pairs(reference, prediction)
    if ref.size < max(1, min_points):
        return None
    return float(np.median(ref / pred))


def ratio_of_medians(reference: np.ndarray, prediction: np.ndarray, min_points: int = 1) -> float | None:
    """``median(reference) / median(prediction)`` over valid pairs (monodepth2's rule), or None."""
    ref, pred = valid_pairs(reference, prediction)
    if ref.size < max(1, min_points):
        return None
    return float(np.median(ref) / np.median(pred))
