"""AdaBins bin-centre loss (Bhat et al. 2021): bidirectional chamfer distance per image between the
predicted bin centres and the set of valid ground-truth depths.

``L = mean_b [ mean_{y in Y_b} min_c (y - c)^2 + mean_{c in C_b} min_{y in Y_b} (c - y)^2 ]``

AdaBins computes it with pytorch3d; the points are 1-D, so here nearest neighbours come from sorting
and ``searchsorted`` (exact, O(N log N), no N x n_bins distance matrix).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from disdepth_core.losses.silog import valid_depth_mask


def _nearest_sq_dist(queries: Tensor, points: Tensor) -> Tensor:
    """Squared distance from each query to its nearest point (1-D), differentiable in both."""
    sorted_points, _ = torch.sort(points)
    idx = torch.searchsorted(sorted_points.detach(), queries.detach().contiguous())
    lo = sorted_points[(idx - 1).clamp(0, len(sorted_points) - 1)]
    hi = sorted_points[idx.clamp(0, len(sorted_points) - 1)]
    return torch.minimum((queries - lo) ** 2, (queries - hi) ** 2)


def bins_chamfer_loss(bin_centers: Tensor, target: Tensor, min_depth: float = 1e-3) -> Tensor:
    """``bin_centers`` B x n_bins, ``target`` B x 1 x H x W or B x H x W metres (0/NaN invalid).

    Images without valid pixels are skipped; returns 0 (with a graph) if none has any.
    """
    target = target.reshape(target.shape[0], -1)
    terms = []
    for centers, depth in zip(bin_centers, target, strict=True):
        y = depth[valid_depth_mask(depth, min_depth)]
        if y.numel() == 0:
            continue
        terms.append(_nearest_sq_dist(y, centers).mean() + _nearest_sq_dist(centers, y).mean())
    if not terms:
        return bin_centers.sum() * 0.0
    return torch.stack(terms).mean()


class BinsChamferLoss(nn.Module):
    """Module form of ``bins_chamfer_loss``: ``forward(bin_centers, target)``."""

    def __init__(self, min_depth: float = 1e-3) -> None:
        super().__init__()
        self.min_depth = min_depth

    def forward(self, bin_centers: Tensor, target: Tensor) -> Tensor:
        return bins_chamfer_loss(bin_centers, target, self.min_depth)
