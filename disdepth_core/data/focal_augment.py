"""Camera-aware metric depth: the canonical-camera transform and focal-length augmentation.

Metric depth from one image is ambiguous across cameras: the same picture taken with twice the focal
length shows objects twice as large. Metric3D (Yin et al., ICCV 2023) removes the ambiguity by
predicting depth for a *canonical* focal length ``f_c``: a pixel seen with focal ``fx_in`` (pixels, at
the model input) at metric depth ``d`` has canonical depth ``d * f_c / fx_in``; at run time the
prediction is multiplied back by ``fx_in / f_c`` (``disdepth_core.runtime.DepthEstimator.predict``).
Both factors are :func:`disdepth_core.geometry.focal_depth_scale`.

Training must show the model many focal lengths so that it learns the convention. Crop + resize does
that without re-rendering: resizing an image by ``s`` multiplies its focal length (pixels) by ``s``;
cropping leaves it unchanged. :class:`FocalAugment` picks a random crop whose size is
``1 / zoom`` of the largest crop of the output's aspect ratio (``zoom`` log-uniform in
``[1, max_zoom]``) at a random position, and resizes it to the output size: ``fx_in = fx * s``, and
the intrinsics follow (principal point shifted by the crop, then scaled).
Zooming out (``zoom < 1``) would need invented border pixels, so it is not done: the narrowest
field of view comes from the data, wider ones from the zoom (a choice; Metric3D also pads).
Depth is resized with nearest-neighbour so no value is invented across a depth edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from disdepth_core.geometry import focal_depth_scale


def canonical_depth(depth: np.ndarray, fx_in: float, canonical_focal: float) -> np.ndarray:
    """Metric depth seen with focal ``fx_in`` -> depth for the canonical focal (invalid 0 stays 0)."""
    return (depth * np.float32(focal_depth_scale(fx_in, 0.0, canonical_focal))).astype(np.float32, copy=False)


def metric_depth(depth: np.ndarray, fx_in: float, canonical_focal: float) -> np.ndarray:
    """Canonical depth -> metric depth for an image with focal ``fx_in`` (inverse of ``canonical_depth``)."""
    return (depth * np.float32(focal_depth_scale(fx_in, canonical_focal, 0.0))).astype(np.float32, copy=False)


@dataclass(frozen=True)
class FocalAugment:
    """Random crop + resize to ``height x width``; returns the new image, depth and focal (see module)."""

    max_zoom: float = 1.6

    def __post_init__(self) -> None:
        if not self.max_zoom >= 1.0:
            raise ValueError(f"FocalAugment: max_zoom must be >= 1, got {self.max_zoom}")

    def __call__(
        self,
        image: np.ndarray,
        depth: np.ndarray | None,
        k: np.ndarray | None,
        height: int,
        width: int,
        rng: np.random.Generator | None,
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Crop (random with ``rng``; the centred full-aspect crop without) and resize; ``k`` follows."""
        zoom = 1.0 if rng is None else math.exp(rng.uniform(0.0, math.log(self.max_zoom)))
        return crop_resize(image, depth, k, height, width, zoom, rng)


def crop_resize(
    image: np.ndarray,
    depth: np.ndarray | None,
    k: np.ndarray | None,
    height: int,
    width: int,
    zoom: float = 1.0,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Crop ``1 / zoom`` of the largest ``height:width`` window (random position with ``rng``, else
    centred) and resize it to ``height x width``; returns ``(image, depth, K of the output)`` (K None
    when ``k`` is None). Pixel centres sit at integer coordinates (the ``augment`` convention)."""
    h, w = image.shape[:2]
    cover = max(height / h, width / w)  # source -> output scale of the largest window
    scale = cover * zoom
    crop_h = min(h, max(1, round(height / scale)))
    crop_w = min(w, max(1, round(width / scale)))
    top = (h - crop_h) // 2 if rng is None else int(rng.integers(0, h - crop_h + 1))
    left = (w - crop_w) // 2 if rng is None else int(rng.integers(0, w - crop_w + 1))
    image = image[top : top + crop_h, left : left + crop_w]
    if (crop_h, crop_w) != (height, width):
        interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        image = cv2.resize(image, (width, height), interpolation=interp)
    if depth is not None:
        depth = depth[top : top + crop_h, left : left + crop_w]
        if (crop_h, crop_w) != (height, width):
            depth = cv2.resize(depth, (width, height), interpolation=cv2.INTER_NEAREST)
    k_out = None
    if k is not None:
        sx, sy = width / crop_w, height / crop_h
        k_out = np.asarray(k, dtype=np.float64).reshape(3, 3).copy()
        k_out[0] *= sx
        k_out[1] *= sy
        k_out[0, 2] = (k[0, 2] - left + 0.5) * sx - 0.5
        k_out[1, 2] = (k[1, 2] - top + 0.5) * sy - 0.5
    return np.ascontiguousarray(image), depth, k_out
