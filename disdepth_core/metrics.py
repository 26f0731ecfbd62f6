"""Depth evaluation metrics: the monodepth2 / AdaBins / BTS protocol as plain numpy functions.

Per image, with ``d = log(pred) - log(gt)`` over the valid pixels:

- ``abs_rel = mean(|pred - gt| / gt)``, ``sq_rel = mean((pred - gt)^2 / gt)``
- ``rmse = sqrt(mean((pred - gt)^2))``, ``rmse_log = sqrt(mean(d^2))``
- ``log10 = mean(|log10(pred) - log10(gt)|)``
- ``silog = 100 * sqrt(mean(d^2) - mean(d)^2)`` (AdaBins / BTS ``eval`` definition)
- ``d1, d2, d3`` = fraction of pixels with ``max(pred/gt, gt/pred) < 1.25, 1.25^2, 1.25^3``

Valid pixels: ground truth finite and within ``[min_depth, max_depth]``, inside the evaluation crop
(``"eigen"`` for NYU: 1e-3..10 m; ``"garg"`` for KITTI: 1e-3..80 m), and prediction finite. The
prediction is clipped to ``[min_depth, max_depth]`` after optional alignment to the ground truth
(``"median"``: scale by median(gt) / median(pred), monodepth2; ``"scale_shift"``: least-squares
``a * pred + b``, MiDaS). Dataset scores are the mean of per-image scores (``MetricAccumulator``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disdepth_core.evaluation.crops import crop_mask

METRIC_KEYS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog", "d1", "d2", "d3")
PROTOCOLS = {
    "nyu": {"min_depth": 1e-3, "max_depth": 10.0, "crop": "eigen"},
    "kitti": {"min_depth": 1e-3, "max_depth": 80.0, "crop": "garg"},
}


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    return arr.squeeze() if arr.ndim > 2 else arr


def valid_mask(gt: np.ndarray, *, min_depth: float, max_depth: float, crop: str | None = None) -> np.ndarray:
    """Ground truth finite, within ``[min_depth, max_depth]`` (so 0 = invalid is excluded) and in the crop."""
    gt = _to_numpy(gt)
    with np.errstate(invalid="ignore"):
        mask = np.isfinite(gt) & (gt >= min_depth) & (gt <= max_depth)
    return mask & crop_mask(crop, *gt.shape)


def align_prediction(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, mode: str | None) -> np.ndarray:
    """Align ``pred`` to ``gt`` on ``mask``: None, ``"median"`` (scale) or ``"scale_shift"`` (lstsq)."""
    if mode is None:
        return pred
    p, g = pred[mask], gt[mask]
    if mode == "median":
        return pred * (np.median(g) / np.median(p))
    if mode == "scale_shift":
        a = np.stack([p, np.ones_like(p)], axis=1)
        (scale, shift), *_ = np.linalg.lstsq(a, g, rcond=None)
        return pred * scale + shift
    raise ValueError(f"unknown alignment {mode!r}; use None, 'median' or 'scale_shift'")


def compute_depth_metrics(
    pred: Any,
    gt: Any,
    *,
    min_depth: float,
    max_depth: float,
    crop: str | None = None,
    align: str | None = None,
) -> dict[str, float]:
    """Metrics of one depth map (H x W, metres) against ground truth; also returns ``n_valid``.

    With no valid pixel every metric is NaN and ``n_valid`` is 0.
    """
    pred, gt = _to_numpy(pred), _to_numpy(gt)
    if pred.shape != gt.shape:
        raise ValueError(
            f"prediction {pred.shape} and ground truth {gt.shape} differ; resize the prediction first"
        )
    mask = valid_mask(gt, min_depth=min_depth, max_depth=max_depth, crop=crop) & np.isfinite(pred)
    n = int(mask.sum())
    if n == 0:
        return {**dict.fromkeys(METRIC_KEYS, float("nan")), "n_valid": 0}
    pred = align_prediction(pred, gt, mask, align)
    p = np.clip(pred[mask], min_depth, max_depth)
    g = gt[mask]
    ratio = np.maximum(p / g, g / p)
    err = p - g
    d = np.log(p) - np.log(g)
    return {
        "abs_rel": float(np.mean(np.abs(err) / g)),
        "sq_rel": float(np.mean(err**2 / g)),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "rmse_log": float(np.sqrt(np.mean(d**2))),
        "log10": float(np.mean(np.abs(np.log10(p) - np.log10(g)))),
        "silog": float(100.0 * np.sqrt(max(np.mean(d**2) - np.mean(d) ** 2, 0.0))),
        "d1": float(np.mean(ratio < 1.25)),
        "d2": float(np.mean(ratio < 1.25**2)),
        "d3": float(np.mean(ratio < 1.25**3)),
        "n_valid": n,
    }


class MetricAccumulator:
    """Mean of per-image metrics over a dataset (the standard protocol); images without valid pixels are
    counted in ``n_skipped`` and left out of the means."""

    def __init__(self) -> None:
        self._sums = dict.fromkeys(METRIC_KEYS, 0.0)
        self.n_images = 0
        self.n_skipped = 0

    def update(self, metrics: dict[str, float]) -> None:
        """Add one image's ``compute_depth_metrics`` result."""
        if metrics.get("n_valid", 1) == 0:
            self.n_skipped += 1
            return
        for key in METRIC_KEYS:
            self._sums[key] += metrics[key]
        self.n_images += 1

    def add(self, pred: Any, gt: Any, **kwargs: Any) -> dict[str, float]:
        """Compute one image's metrics (``compute_depth_metrics`` keyword arguments), add and return them."""
        metrics = compute_depth_metrics(pred, gt, **kwargs)
        self.update(metrics)
        return metrics

    def compute(self) -> dict[str, float]:
        """Per-image means, plus ``n_images`` and ``n_skipped``."""
        if self.n_images == 0:
            means = dict.fromkeys(METRIC_KEYS, float("nan"))
        else:
            means = {key: value / self.n_images for key, value in self._sums.items()}
        return {**means, "n_images": self.n_images, "n_skipped": self.n_skipped}


def format_metrics(metrics: dict[str, float]) -> str:
    """One line in the usual table order, e.g. for logs."""
    return "  ".join(f"{key}={metrics[key]:.4f}" for key in METRIC_KEYS if key in metrics)
