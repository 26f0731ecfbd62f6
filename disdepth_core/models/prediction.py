"""The output type every depth model returns (ARCHITECTURE.md, `DepthModel`)."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor


class DepthPrediction(NamedTuple):
    """Metric depth with its per-pixel uncertainty.

    depth: B x 1 x H x W metres; uncertainty: B x 1 x H x W, the variance (m^2) of the per-pixel bin
    distribution around ``depth``; bin_centers: B x n_bins metres (adaptive bins, AdaBins).
    """

    depth: Tensor
    uncertainty: Tensor
    bin_centers: Tensor
