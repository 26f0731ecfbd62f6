"""Training losses: SILog, AdaBins bin chamfer, gradient matching, and distillation (feature / output KD)."""

from disdepth_core.losses.bins import BinsChamferLoss, bins_chamfer_loss
from disdepth_core.losses.gradient import GradientMatchingLoss
from disdepth_core.losses.kd import AttentiveKDLoss, FeatureKDLoss, OutputKDLoss
from disdepth_core.losses.silog import SILogLoss, silog_loss, valid_depth_mask

__all__ = [
    "AttentiveKDLoss",
    "BinsChamferLoss",
    "FeatureKDLoss",
    "GradientMatchingLoss",
    "OutputKDLoss",
    "SILogLoss",
    "bins_chamfer_loss",
    "silog_loss",
    "valid_depth_mask",
]
