"""AdaBins-style adaptive-bins head (Bhat et al., CVPR 2021; used by DisDepth, Zheng et al. 2024 Sec. 3.1).

Per image: ``n_bins`` bin widths (global average pool of the decoder map -> MLP -> softmax), scaled to
``[min_depth, max_depth]``; centres are the midpoints of the cumulative edges. Per pixel: a softmax over
the bins. ``depth = sum_i p_i c_i`` and ``uncertainty = sum_i p_i (c_i - depth)^2`` (the variance of the
per-pixel bin distribution). Choice where AdaBins differs: it predicts widths with a mini-ViT and a
ReLU + eps normalisation; here a pooled MLP and a softmax keep the head cheap and ONNX-friendly.
Depth and uncertainty are upsampled bilinearly to the requested size, a convex combination, so depth
stays inside ``[min_depth, max_depth]`` and uncertainty stays >= 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import resize_to
from .prediction import DepthPrediction


class BinsHead(nn.Module):
    """Adaptive bins over ``[min_depth, max_depth]``: per-image centres + per-pixel probabilities."""

    def __init__(
        self,
        in_channels: int,
        n_bins: int = 64,
        min_depth: float = 0.1,
        max_depth: float = 10.0,
        hidden: int = 128,
    ) -> None:
        super().__init__()
        if not 0.0 < min_depth < max_depth:
            raise ValueError(f"BinsHead: need 0 < min_depth < max_depth, got {min_depth}, {max_depth}")
        if n_bins < 2:
            raise ValueError(f"BinsHead: n_bins must be >= 2, got {n_bins}")
        self.min_depth = float(min_depth)
        self.max_depth = float(max_depth)
        self.n_bins = n_bins
        self.widths = nn.Sequential(
            nn.Linear(in_channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, n_bins)
        )
        self.logits = nn.Sequential(
            nn.Conv2d(in_channels, in_channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, n_bins, 1),
        )

    def bin_centers(self, x: Tensor) -> Tensor:
        """B x n_bins bin centres (metres) predicted from the pooled decoder map."""
        widths = F.softmax(self.widths(x.mean(dim=(2, 3))), dim=1) * (self.max_depth - self.min_depth)
        edges = self.min_depth + torch.cumsum(F.pad(widths, (1, 0)), dim=1)
        return 0.5 * (edges[:, :-1] + edges[:, 1:])

    def forward(self, x: Tensor, out_hw: tuple[int, int] | list[int]) -> DepthPrediction:
        centers = self.bin_centers(x)
        probs = F.softmax(self.logits(x), dim=1)
        c = centers[:, :, None, None]
        depth = (probs * c).sum(dim=1, keepdim=True)
        variance = (probs * (c - depth) ** 2).sum(dim=1, keepdim=True)
        return DepthPrediction(resize_to(depth, out_hw), resize_to(variance, out_hw), centers)
