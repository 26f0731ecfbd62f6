"""``sparse_depth``: a metric depth sensor registered to the camera (LiDAR, ToF, stereo) fixes the scale.

A frame's scale is the median of ``sensor / prediction`` over the sensor's valid points
(:func:`~disdepth_core.scale.ratios.median_of_ratios`), the prediction sampled at the sensor image's
pixel centres (nearest), so each sensor point counts once whatever the two resolutions. A sensor image
is used once: the first camera frame after it arrives gets it (:class:`FrameContext`), later frames
hold its scale (:mod:`disdepth_core.scale.tracker`), so a 10 Hz LiDAR beside a 30 Hz camera is not
counted three times.
"""

from __future__ import annotations

import numpy as np

from disdepth_core.scale.ratios import median_of_ratios, valid_pairs
from disdepth_core.scale.sources import FrameContext, ScaleObservation, ScaleSettings, register_scale_source

__all__ = ["SparseDepthScale", "sample_at"]


@register_scale_source("sparse_depth", "median sensor/prediction ratio over a sparse depth topic")
class SparseDepthScale:
    name = "sparse_depth"
    relative_ok = True

    def __init__(self, argument: str, settings: ScaleSettings) -> None:
        self.min_points = settings.sparse_min_points

    def has_input(self, context: FrameContext) -> bool:
        return context.sparse_depth is not None

    def observe(self, depth: np.ndarray, context: FrameContext) -> ScaleObservation:
        sparse = context.sparse_depth
        if sparse is None:
            return ScaleObservation.undecided("no new sparse depth for this frame")
        prediction = depth if sparse.shape == depth.shape else sample_at(depth, sparse.shape)
        measured, predicted = valid_pairs(sparse, prediction)
        points = int(measured.size)
        scale = median_of_ratios(measured, predicted, self.min_points)
        if scale is None:
            return ScaleObservation.undecided(
                f"only {points} sparse depth points on valid prediction (need {self.min_points})", points
            )
        return ScaleObservation(scale, 1.0, points, f"median of {points} sensor/prediction ratios")


def sample_at(image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``image`` at the pixel centres of a ``shape`` grid covering the same field of view (nearest)."""
    rows = np.clip(
        ((np.arange(shape[0]) + 0.5) * image.shape[0] / shape[0]).astype(np.int64), 0, image.shape[0] - 1
    )
    cols = np.clip(
        ((np.arange(shape[1]) + 0.5) * image.shape[1] / shape[1]).astype(np.int64), 0, image.shape[1] - 1
    )
    return image[rows[:, None], cols[None, :]]
