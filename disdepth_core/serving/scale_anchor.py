"""Metric scale anchored to a sparse depth sensor (LiDAR, ToF, stereo depth) with temporal smoothing.

Monocular metric depth drifts in scale between scenes and cameras; mapping (rtabmap) breaks on scale that
changes from frame to frame. When the robot has a sparse metric sensor registered to the camera, each
frame's scale is the median of ``sensor / prediction`` over the pixels where both are valid (at least
``min_points``; monodepth2's median alignment, robust to outliers), smoothed over time in log space with
an exponential moving average (``smoothing`` = weight of the newest estimate), and clamped to
``[1 / max_ratio, max_ratio]`` so one bad sensor frame cannot wreck the output. Frames without a usable
sensor frame keep the last smoothed scale.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

__all__ = ["ScaleAnchor", "ScaleEstimate"]


@dataclass(frozen=True)
class ScaleEstimate:
    """The smoothed scale now, this frame's raw estimate (None when unusable) and its support."""

    scale: float
    frame_scale: float | None
    points: int


class ScaleAnchor:
    """Per-frame median scale against sparse depth, smoothed; thread-safe."""

    def __init__(self, min_points: int = 20, smoothing: float = 0.3, max_ratio: float = 10.0) -> None:
        if min_points < 1:
            raise ValueError(f"min_points must be >= 1, got {min_points}")
        if not 0.0 < smoothing <= 1.0:
            raise ValueError(f"smoothing must be in (0, 1], got {smoothing}")
        if not max_ratio > 1.0:
            raise ValueError(f"max_ratio must be > 1, got {max_ratio}")
        self.min_points = min_points
        self.smoothing = smoothing
        self.max_ratio = max_ratio
        self._log_scale: float | None = None
        self._lock = threading.Lock()

    @property
    def scale(self) -> float:
        with self._lock:
            return 1.0 if self._log_scale is None else math.exp(self._log_scale)

    def update(self, prediction: np.ndarray, sparse: np.ndarray | None) -> ScaleEstimate:
        """Fold in one frame: ``prediction`` (metres, NaN invalid) and the sensor's depth registered to
        the same camera (any resolution; 0/NaN invalid). The prediction is sampled at the sensor's pixel
        centres, so each sensor point counts once whatever the two resolutions."""
        frame_scale, points = None, 0
        if sparse is not None:
            if sparse.shape != prediction.shape:
                prediction = _sample_at(prediction, sparse.shape)
            with np.errstate(invalid="ignore", divide="ignore"):
                valid = np.isfinite(sparse) & (sparse > 0) & np.isfinite(prediction) & (prediction > 0)
                points = int(valid.sum())
                if points >= self.min_points:
                    ratio = float(np.median(sparse[valid] / prediction[valid]))
                    frame_scale = min(max(ratio, 1.0 / self.max_ratio), self.max_ratio)
        with self._lock:
            if frame_scale is not None:
                log_scale = math.log(frame_scale)
                if self._log_scale is None:
                    self._log_scale = log_scale
                else:
                    self._log_scale += self.smoothing * (log_scale - self._log_scale)
            scale = 1.0 if self._log_scale is None else math.exp(self._log_scale)
        return ScaleEstimate(scale, frame_scale, points)


def _sample_at(image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``image`` at the pixel centres of a ``shape`` grid covering the same field of view (nearest)."""
    rows = np.clip(
        ((np.arange(shape[0]) + 0.5) * image.shape[0] / shape[0]).astype(np.int64), 0, image.shape[0] - 1
    )
    cols = np.clip(
        ((np.arange(shape[1]) + 0.5) * image.shape[1] / shape[1]).astype(np.int64), 0, image.shape[1] - 1
    )
    return image[rows[:, None], cols[None, :]]
