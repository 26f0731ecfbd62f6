"""Colour-mapped depth for humans (rviz): a bgr8 image, near = the warm end of the colormap."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["COLORMAPS", "colorize_depth", "display_range"]

COLORMAPS: dict[str, int] = {
    "turbo": cv2.COLORMAP_TURBO,
    "jet": cv2.COLORMAP_JET,
    "inferno": cv2.COLORMAP_INFERNO,
    "magma": cv2.COLORMAP_MAGMA,
    "plasma": cv2.COLORMAP_PLASMA,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "bone": cv2.COLORMAP_BONE,
}


def display_range(
    depth: np.ndarray, low: float = 2.0, high: float = 98.0, sample_step: int = 4
) -> tuple[float, float] | None:
    """The ``low``/``high`` percentiles of the valid depth (every ``sample_step``-th row and column, for
    speed), so a 1-3 m indoor scene uses the whole colormap; None without two distinct valid depths."""
    sample = depth[::sample_step, ::sample_step]
    valid = sample[np.isfinite(sample)]
    if valid.size < 2:
        return None
    near, far = (float(v) for v in np.percentile(valid, (low, high)))
    return (near, far) if far > near else None


def colorize_depth(
    depth: np.ndarray, min_depth: float, max_depth: float, colormap: str = "turbo"
) -> np.ndarray:
    """Map depth in metres linearly onto `colormap` over [min_depth, max_depth]; invalid (NaN) is black.

    Returns bgr8 H x W x 3 (OpenCV order, published as `bgr8`). Near depths get the high end of the
    colormap (red for turbo/jet), far ones the low end; values outside the range are clamped.
    """
    if colormap not in COLORMAPS:
        raise ValueError(f"unknown colormap {colormap!r}; choose one of {', '.join(COLORMAPS)}")
    if not max_depth > min_depth:
        raise ValueError(f"max_depth ({max_depth}) must be greater than min_depth ({min_depth})")
    valid = np.isfinite(depth)
    # levels = clip((max_depth - depth) * 255 / (max_depth - min_depth), 0, 255), in place on one buffer.
    levels = np.where(valid, depth, np.float32(max_depth))
    np.subtract(np.float32(max_depth), levels, out=levels)
    np.multiply(levels, np.float32(255.0 / (max_depth - min_depth)), out=levels)
    np.clip(levels, 0.0, 255.0, out=levels)
    bgr = cv2.applyColorMap(levels.astype(np.uint8), COLORMAPS[colormap])
    return cv2.bitwise_and(bgr, bgr, mask=valid.view(np.uint8))  # invalid -> black
