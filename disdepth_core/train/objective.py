"""The supervised depth objective shared by all stages (DisDepth Sec. 3.1 / AdaBins training loss).

``L = silog_weight * SILog(depth, gt) + bins_weight * Chamfer(bin_centers, gt)
+ gradient_weight * GradientMatching(depth, gt) + ssi_weight * SSI(depth, gt)``. Ground truth outside
the model's ``[min_depth, max_depth]`` is ignored (the bins head cannot represent it, so penalising it
would only push the bins to the range edge). AdaBins uses ``bins_weight = 0.1``; the gradient term is
off by default (DisDepth does not use one), and so is the scale-and-shift-invariant term in inverse
depth (MiDaS / Depth Anything; for targets whose per-image scale and shift are not trusted, e.g. a
relative teacher's pseudo-labels).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from disdepth_core.losses import (
    GradientMatchingLoss,
    bins_chamfer_loss,
    silog_loss,
    ssi_inverse_depth_loss,
    valid_depth_mask,
)
from disdepth_core.models import DepthPrediction

from .config import LossConfig


class DepthObjective(nn.Module):
    """``forward(prediction, gt) -> (loss, parts)``; ``gt`` is B x 1 x H x W metres, 0/NaN invalid."""

    def __init__(self, config: LossConfig, min_depth: float, max_depth: float) -> None:
        super().__init__()
        self.config = config
        self.min_depth, self.max_depth = float(min_depth), float(max_depth)
        self.gradient = GradientMatchingLoss() if config.gradient_weight > 0 else None

    def forward(self, prediction: DepthPrediction, gt: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        cfg = self.config
        valid = valid_depth_mask(gt, self.min_depth, self.max_depth)
        target = torch.where(valid, gt, torch.zeros_like(gt))
        silog = silog_loss(prediction.depth, target, valid, variance_focus=cfg.silog_lambda)
        parts = {"silog": silog.detach()}
        loss = cfg.silog_weight * silog
        if cfg.bins_weight > 0:
            bins = bins_chamfer_loss(prediction.bin_centers, target)
            loss = loss + cfg.bins_weight * bins
            parts["bins"] = bins.detach()
        if self.gradient is not None:
            gradient = self.gradient(prediction.depth, target, valid)
            loss = loss + cfg.gradient_weight * gradient
            parts["gradient"] = gradient.detach()
        if cfg.ssi_weight > 0:
            ssi = ssi_inverse_depth_loss(prediction.depth, target, valid)
            loss = loss + cfg.ssi_weight * ssi
            parts["ssi"] = ssi.detach()
        return loss, parts
