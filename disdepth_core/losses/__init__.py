"""Training losses: SILog, AdaBins bin chamfer, gradient matching, scale-and-shift-invariant inverse
depth, and distillation (feature / output KD)."""

from disdepth_core.losses.bins import BinsChamferLoss, bins_chamfer_loss
from disdepth_core.losses.gradient import GradientMatchingLoss
from disdepth_core.losses.kd import AttentiveKDLoss, FeatureKDLoss, OutputKDLoss
from disdepth_core.losses.silog import SILogLoss, silog_loss, valid_depth_mask
from disdepth_core.losses.ssi import ssi_inverse_depth_loss

__all__ = [
    "AttentiveKDLoss",
    "BinsChamferLoss",
    "FeatureKDLoss",
    "GradientMatchingLoss",
    "OutputKDLoss",
    "SILogLoss",
    "bins_chamfer_loss",
    "silog_loss",
    "ssi_inverse_depth_loss",
    "valid_depth_mask",
]
