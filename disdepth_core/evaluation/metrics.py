"""Depth error metrics of one image: the monodepth2 / AdaBins / BTS definitions as a plain function.

Over the scored pixels, with ``d = log(pred) - log(gt)``:

- ``abs_rel = mean(|pred - gt| / gt)``, ``sq_rel = mean((pred - gt)^2 / gt)``
- ``rmse = sqrt(mean((pred - gt)^2))``, ``rmse_log = sqrt(mean(d^2))``
- ``log10 = mean(|log10(pred) - log10(gt)|)``
- ``silog = 100 * sqrt(mean(d^2) - mean(d)^2)`` (AdaBins / BTS ``eval`` definition)
- ``d1, d2, d3`` = fraction of pixels with ``max(pred/gt, gt/pred) < 1.25, 1.25^2, 1.25^3``

Which pixels are scored, how predictions are aligned and clipped, and how images are averaged is
:mod:`disdepth_core.evaluation.scoring`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["METRIC_KEYS", "METRIC_LABELS", "depth_errors"]

METRIC_KEYS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog", "d1", "d2", "d3")
METRIC_LABELS = {
    "abs_rel": "AbsRel",
    "sq_rel": "SqRel",
    "rmse": "RMSE",
    "rmse_log": "RMSE log",
    "log10": "log10",
    "silog": "SILog",
    "d1": "d1",
    "d2": "d2",
    "d3": "d3",
}


def depth_errors(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Every metric of ``METRIC_KEYS`` for matching 1-D arrays of positive depths (metres)."""
    ratio = np.maximum(pred / gt, gt / pred)
    err = pred - gt
    d = np.log(pred) - np.log(gt)
    return {
        "abs_rel": float(np.mean(np.abs(err) / gt)),
        "sq_rel": float(np.mean(err**2 / gt)),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "rmse_log": float(np.sqrt(np.mean(d**2))),
        "log10": float(np.mean(np.abs(np.log10(pred) - np.log10(gt)))),
        "silog": float(100.0 * np.sqrt(max(np.mean(d**2) - np.mean(d) ** 2, 0.0))),
        "d1": float(np.mean(ratio < 1.25)),
        "d2": float(np.mean(ratio < 1.25**2)),
        "d3": float(np.mean(ratio < 1.25**3)),
    }
