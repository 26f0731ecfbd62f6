"""Multi-scale gradient-matching loss (Li & Snavely 2018, MiDaS / Ranftl et al. 2020), on log depth.

With ``R = log(pred) - log(target)`` on valid pixels and ``R_k`` its subsampling by ``2^k`` (strided, as
MiDaS does), ``L = (1 / K) sum_k sum(|dx R_k| + |dy R_k|) / max(1, n_k)`` where the finite differences
count only pairs of valid neighbours and ``n_k`` is the number of such pairs. Working on log depth
makes the loss invariant to a global scale, so it sharpens edges without fighting the metric loss.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from disdepth_core.losses.silog import valid_depth_mask


class GradientMatchingLoss(nn.Module):
    """``forward(pred, target, mask=None)``, B x 1 x H x W metres; ``scales`` = K levels."""

    def __init__(self, scales: int = 4, min_depth: float = 1e-3) -> None:
        super().__init__()
        if scales < 1:
            raise ValueError(f"scales must be >= 1, got {scales}")
        self.scales, self.min_depth = scales, min_depth

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        valid = valid_depth_mask(target, self.min_depth) & (pred > 0)
        if mask is not None:
            valid &= mask.bool()
        residual = torch.where(
            valid, torch.log(pred.clamp_min(1e-6)) - torch.log(target.nan_to_num(1.0).clamp_min(1e-6)), 0.0
        )
        total = pred.sum() * 0.0
        for k in range(self.scales):
            step = 2**k
            r, m = residual[..., ::step, ::step], valid[..., ::step, ::step]
            mx = m[..., :, 1:] & m[..., :, :-1]
            my = m[..., 1:, :] & m[..., :-1, :]
            gx = (r[..., :, 1:] - r[..., :, :-1]).abs() * mx
            gy = (r[..., 1:, :] - r[..., :-1, :]).abs() * my
            n = (mx.sum() + my.sum()).clamp_min(1)
            total = total + (gx.sum() + gy.sum()) / n
        return total / self.scales
