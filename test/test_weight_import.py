"""ImageNet weight import: torchvision/timm key layouts built programmatically (packages not needed)."""

from __future__ import annotations

import pytest
import torch

from disdepth_core.models import insert_lgconv
from disdepth_core.models.efficientnet import build_efficientnet_b0
from disdepth_core.models.mobilenetv2 import build_mobilenetv2
from disdepth_core.models.resnet import build_resnet
from disdepth_core.models.weights import (
    load_timm_state_dict,
    load_torchvision_state_dict,
    timm_efficientnet_key,
    timm_mobilenetv2_key,
)


def _random_like(reference) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        k: torch.randn(v.shape, generator=generator).to(v.dtype) for k, v in reference.state_dict().items()
    }


LGCONV_BRANCH = (".global_conv.", ".attn_local.", ".attn_global.", ".project.")


def _assert_loaded(backbone, source: dict[str, torch.Tensor], key_map) -> None:
    """Every backbone tensor except LG-Conv branches equals its source; every non-head source key is used."""
    used = set()
    for key, value in backbone.state_dict().items():
        if any(part in key for part in LGCONV_BRANCH):
            continue
        source_key = key_map(key.replace(".host.", "."))
        assert torch.equal(value, source[source_key]), key
        used.add(source_key)
    assert used == {k for k in source if not k.startswith(("fc.", "classifier.", "conv_head."))}


def test_torchvision_resnet18_known_keys_and_lgconv() -> None:
    source = _random_like(build_resnet("resnet18"))
    source["fc.weight"], source["fc.bias"] = torch.zeros(1000, 512), torch.zeros(1000)
    assert {"conv1.weight", "layer2.0.downsample.0.weight", "layer4.1.bn2.running_var"} <= set(source)
    backbone = build_resnet("resnet18")
    insert_lgconv(backbone)
    load_torchvision_state_dict(backbone, source)
    _assert_loaded(backbone, source, lambda k: k)
    assert torch.equal(backbone.layer1[0].conv1.host.weight, source["layer1.0.conv1.weight"])


def test_timm_efficientnet_b0_layout() -> None:
    reference = build_efficientnet_b0()
    source = {timm_efficientnet_key(k): v for k, v in _random_like(reference).items()}
    assert {"conv_stem.weight", "blocks.0.0.conv_dw.weight", "blocks.0.0.se.conv_reduce.bias",
            "blocks.1.0.conv_pwl.weight", "blocks.6.0.bn3.running_mean"} <= set(source)  # fmt: skip
    source["conv_head.weight"] = torch.zeros(1280, 320, 1, 1)
    source["classifier.weight"] = torch.zeros(1000, 1280)
    backbone = build_efficientnet_b0()
    load_timm_state_dict(backbone, source)
    _assert_loaded(backbone, source, timm_efficientnet_key)


def test_timm_mobilenetv2_truncated_encoder_skips_dropped_blocks() -> None:
    full = {timm_mobilenetv2_key(k): v for k, v in _random_like(build_mobilenetv2()).items()}
    assert {"conv_stem.weight", "blocks.0.0.conv_pw.weight", "blocks.6.0.conv_pwl.weight"} <= set(full)
    backbone = build_mobilenetv2(num_blocks=16)  # hu-lite's encoder: blocks.6.* are not used
    load_timm_state_dict(backbone, full)
    assert torch.equal(backbone.features[16].conv[2].weight, full["blocks.5.2.conv_pwl.weight"])


def test_missing_and_unexpected_keys_are_named() -> None:
    source = _random_like(build_resnet("resnet18"))
    del source["layer3.1.bn1.weight"]
    source["head.extra"] = torch.zeros(1)
    with pytest.raises(KeyError, match=r"layer3\.1\.bn1\.weight.*head\.extra"):
        load_torchvision_state_dict(build_resnet("resnet18"), source)


def test_shape_mismatch_is_reported() -> None:
    source = _random_like(build_resnet("resnet18"))
    source["layer2.0.conv1.weight"] = torch.zeros(128, 64, 1, 1)
    with pytest.raises(ValueError, match=r"shape mismatch.*layer2\.0\.conv1\.weight"):
        load_torchvision_state_dict(build_resnet("resnet18"), source)
