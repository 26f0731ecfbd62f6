"""Evaluation crops as boolean masks (monodepth2 / AdaBins / BTS protocol).

- NYU Depth V2 "Eigen crop": rows 45:471, cols 41:601 of the 480 x 640 image (Eigen et al. 2014).
- KITTI "Garg crop": rows 0.40810811 H : 0.99189189 H, cols 0.03594771 W : 0.96405229 W (Garg et al. 2016).

Other resolutions scale the Eigen crop proportionally.
"""

from __future__ import annotations

import numpy as np


def eigen_crop_mask(height: int, width: int) -> np.ndarray:
    """NYU Eigen crop (45:471, 41:601 at 480 x 640), scaled to ``height`` x ``width``."""
    mask = np.zeros((height, width), dtype=bool)
    r0, r1 = round(45 * height / 480), round(471 * height / 480)
    c0, c1 = round(41 * width / 640), round(601 * width / 640)
    mask[r0:r1, c0:c1] = True
    return mask


def garg_crop_mask(height: int, width: int) -> np.ndarray:
    """KITTI Garg crop, as in monodepth2 ``evaluate_depth.py`` (int() truncation of the fractions)."""
    mask = np.zeros((height, width), dtype=bool)
    r0, r1 = int(0.40810811 * height), int(0.99189189 * height)
    c0, c1 = int(0.03594771 * width), int(0.96405229 * width)
    mask[r0:r1, c0:c1] = True
    return mask


def crop_mask(name: str | None, height: int, width: int) -> np.ndarray:
    """Mask for a named crop (``None`` = every pixel)."""
    if name is None:
        return np.ones((height, width), dtype=bool)
    if name == "eigen":
        return eigen_crop_mask(height, width)
    if name == "garg":
        return garg_crop_mask(height, width)
    raise ValueError(f"unknown evaluation crop {name!r}; use None, 'eigen' (NYU) or 'garg' (KITTI)")
