"""Colour-mapped depth for humans (rviz): a bgr8 image, near = the warm end of the colormap."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["COLORMAPS", "colorize_depth"]

COLORMAPS: dict[str, int] = {
    "turbo": cv2.COLORMAP_TURBO,
    "jet": cv2.COLORMAP_JET,
    "inferno": cv2.COLORMAP_INFERNO,
    "magma": cv2.COLORMAP_MAGMA,
    "plasma": cv2.COLORMAP_PLASMA,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "bone": cv2.COLORMAP_BONE,
}


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
    scale = 255.0 / (max_depth - min_depth)
    valid = np.isfinite(depth)
    levels = np.clip((max_depth - np.where(valid, depth, max_depth)) * scale, 0.0, 255.0).astype(np.uint8)
    bgr = cv2.applyColorMap(levels, COLORMAPS[colormap])
    bgr[~valid] = 0
    return bgr
