"""Scale-invariant log loss (Eigen et al. 2014) in the AdaBins / BTS training form.

``L = scale * sqrt(mean(g^2) - lambda * mean(g)^2)``, ``g = log(pred) - log(gt)`` over the valid
pixels of the whole batch (as AdaBins does), ``lambda = 0.85`` (variance focus), ``scale = 10``.
With ``lambda = 1`` the loss is fully scale invariant (``pred = c * gt`` gives 0).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

_SQRT_FLOOR = 1e-12  # keeps sqrt differentiable when pred == gt


def valid_depth_mask(depth: Tensor, min_depth: float = 1e-3, max_depth: float | None = None) -> Tensor:
    """Finite, ``> min_depth`` (0 and NaN = invalid) and, if given, ``<= max_depth``: the torch form of
    :func:`disdepth_core.geometry.valid_depth` (the same rule at ``min_depth=0``) with a training range."""
    mask = torch.isfinite(depth) & (depth > min_depth)
    if max_depth is not None:
        mask &= depth <= max_depth
    return mask


def silog_loss(
    pred: Tensor,
    target: Tensor,
    mask: Tensor | None = None,
    variance_focus: float = 0.85,
    scale: float = 10.0,
    min_depth: float = 1e-3,
) -> Tensor:
    """SILog over ``mask & valid(target) & pred > 0`` (all shapes broadcastable, e.g. B x 1 x H x W).

    Returns 0 (with a graph to ``pred``) when no pixel is valid.
    """
    if pred.shape != target.shape:
        raise ValueError(
            f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must have the same shape"
        )
    valid = valid_depth_mask(target, min_depth) & (pred > 0)
    if mask is not None:
        valid &= mask.bool()
    if not bool(valid.any()):
        return pred.sum() * 0.0
    g = torch.log(pred[valid]) - torch.log(target[valid])
    d = (g**2).mean() - variance_focus * g.mean() ** 2
    return scale * torch.sqrt(d.clamp_min(_SQRT_FLOOR))


class SILogLoss(nn.Module):
    """Module form of ``silog_loss``: ``forward(pred, target, mask=None)``."""

    def __init__(self, variance_focus: float = 0.85, scale: float = 10.0, min_depth: float = 1e-3) -> None:
        super().__init__()
        self.variance_focus, self.scale, self.min_depth = variance_focus, scale, min_depth

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        return silog_loss(pred, target, mask, self.variance_focus, self.scale, self.min_depth)
