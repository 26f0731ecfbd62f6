"""Scale-and-shift-invariant loss in inverse depth (MiDaS, Ranftl et al. 2020; Depth Anything's
affine-invariant loss, Yang et al. 2024, Eq. 1-2).

Per image, over its valid pixels, prediction and target are turned into disparity ``d = 1 / depth`` and
each is normalised by its own median ``t(d)`` and mean absolute deviation ``s(d) = mean|d - t(d)|``:
``d_hat = (d - t(d)) / s(d)``. The loss is ``mean |d_hat_pred - d_hat_target|`` per image, averaged over
the images with at least ``MIN_PIXELS`` valid pixels (no trimming, as Depth Anything). It is blind to any
per-image scale and shift of the disparity, exactly the ambiguity of a relative-depth teacher's output.
"""

from __future__ import annotations

import torch
from torch import Tensor

from disdepth_core.losses.silog import valid_depth_mask

MIN_PIXELS = 2
_DEVIATION_FLOOR = 1e-6


def _normalized(disparity: Tensor) -> Tensor:
    median = disparity.median()
    deviation = (disparity - median).abs().mean().clamp_min(_DEVIATION_FLOOR)
    return (disparity - median) / deviation


def ssi_inverse_depth_loss(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """The loss of the module docstring; ``pred``/``target`` B x 1 x H x W metres (target 0/NaN invalid).

    Returns 0 (with a graph to ``pred``) when no image has enough valid pixels.
    """
    if pred.shape != target.shape:
        raise ValueError(
            f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must have the same shape"
        )
    valid = valid_depth_mask(target) & (pred > 0)
    if mask is not None:
        valid &= mask.bool()
    terms = []
    for p, t, m in zip(pred, target, valid, strict=True):
        if int(m.sum()) < MIN_PIXELS:
            continue
        terms.append((_normalized(1.0 / p[m]) - _normalized(1.0 / t[m])).abs().mean())
    if not terms:
        return pred.sum() * 0.0
    return torch.stack(terms).mean()
