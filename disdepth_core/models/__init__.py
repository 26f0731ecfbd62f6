"""Depth models: CNN students, transformer teachers, LG-Conv, ghost decoder + FAM, checkpoints.

Contracts: docs/ARCHITECTURE.md (`disdepth_core.models`). Importing this package registers every model.
"""

from . import students, teachers  # noqa: F401  (register the zoo)
from .depth_model import DepthModel
from .ghost import FeatureAcclimation, GhostDecoder
from .lgconv import LGConv, insert_lgconv
from .normalization import IMAGENET_MEAN, IMAGENET_STD
from .prediction import DepthPrediction
from .registry import build_model, default_config, list_models, register_model

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "DepthModel",
    "DepthPrediction",
    "FeatureAcclimation",
    "GhostDecoder",
    "LGConv",
    "build_model",
    "default_config",
    "insert_lgconv",
    "list_models",
    "register_model",
]
