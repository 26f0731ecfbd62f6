"""EfficientNet-B0 and EfficientNet-Lite0 feature backbones, module names as in torchvision.

* EfficientNet-B0 (Tan & Le, ICML 2019): MBConv with squeeze-excitation, SiLU, PyTorch padding.
* EfficientNet-Lite0 (Google's edge variant of B0, TensorFlow ``efficientnet_lite_builder``): the same
  stages without squeeze-excitation, ReLU6 instead of SiLU, TensorFlow "SAME" padding and BatchNorm
  epsilon 1e-3, input scaled to [-1, 1]: int8- and TensorRT-friendly (no sigmoid gating, clipped
  activations). Its ImageNet weights come from ``disdepth_core.models.weights``.

Both return the outputs of stages ``features[1]``, ``[2]``, ``[3]``, ``[5]`` and ``[7]`` (strides 2, 4,
8, 16, 32; 16, 24, 40, 112, 320 channels), the taps DisDepth (Zheng et al. 2024, Sec. 3.1) and most
EfficientNet depth encoders use. The 1280-channel head conv and classifier are left out. Stochastic
depth is not used (the distillation recipe regularises through the teacher instead).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor, nn

from .layers import ConvNormAct


@dataclass(frozen=True)
class MBConvStage:
    """One EfficientNet stage: expand ratio, kernel, first stride, in/out channels, repeats."""

    expand_ratio: int
    kernel: int
    stride: int
    in_channels: int
    out_channels: int
    repeats: int


EFFICIENTNET_B0_STAGES: tuple[MBConvStage, ...] = (
    MBConvStage(1, 3, 1, 32, 16, 1),
    MBConvStage(6, 3, 2, 16, 24, 2),
    MBConvStage(6, 5, 2, 24, 40, 2),
    MBConvStage(6, 3, 2, 40, 80, 3),
    MBConvStage(6, 5, 1, 80, 112, 3),
    MBConvStage(6, 5, 2, 112, 192, 4),
    MBConvStage(6, 3, 1, 192, 320, 1),
)
EFFICIENTNET_TAPS: tuple[int, ...] = (1, 2, 3, 5, 7)


@dataclass(frozen=True)
class EfficientNetStyle:
    """Per-family block options: activation, squeeze-excitation, padding convention, BatchNorm epsilon."""

    activation: Callable[[], nn.Module] = nn.SiLU
    squeeze_excitation: bool = True
    tf_same: bool = False
    bn_eps: float = 1e-5


EFFICIENTNET_B0_STYLE = EfficientNetStyle()
EFFICIENTNET_LITE_STYLE = EfficientNetStyle(nn.ReLU6, squeeze_excitation=False, tf_same=True, bn_eps=1e-3)


class SqueezeExcitation(nn.Module):
    """Channel attention: global pool -> fc1 (SiLU) -> fc2 (sigmoid) -> scale; fc as 1x1 convs."""

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = nn.SiLU()

    def forward(self, x: Tensor) -> Tensor:
        scale = x.mean(dim=(2, 3), keepdim=True)
        scale = self.fc2(self.activation(self.fc1(scale)))
        return x * scale.sigmoid()


class MBConv(nn.Module):
    """Mobile inverted bottleneck, squeeze-excitation per ``style`` (torchvision ``MBConv`` layout)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int,
        expand_ratio: int,
        style: EfficientNetStyle = EFFICIENTNET_B0_STYLE,
    ) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        norm = {"tf_same": style.tf_same, "bn_eps": style.bn_eps}
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvNormAct(in_channels, hidden, 1, activation=style.activation, **norm))
        layers.append(
            ConvNormAct(hidden, hidden, kernel, stride, groups=hidden, activation=style.activation, **norm)
        )
        if style.squeeze_excitation:
            layers.append(SqueezeExcitation(hidden, max(1, in_channels // 4)))
        layers.append(ConvNormAct(hidden, out_channels, 1, activation=None, **norm))
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return x + out if self.use_residual else out


class EfficientNetBackbone(nn.Module):
    """EfficientNet stem + MBConv stages returning five scales."""

    def __init__(
        self,
        stages: tuple[MBConvStage, ...] = EFFICIENTNET_B0_STAGES,
        style: EfficientNetStyle = EFFICIENTNET_B0_STYLE,
    ) -> None:
        super().__init__()
        self.style = style
        stem = ConvNormAct(
            3,
            stages[0].in_channels,
            3,
            2,
            activation=style.activation,
            tf_same=style.tf_same,
            bn_eps=style.bn_eps,
        )
        layers: list[nn.Module] = [stem]
        for stage in stages:
            blocks = [
                MBConv(
                    stage.in_channels if i == 0 else stage.out_channels,
                    stage.out_channels,
                    stage.kernel,
                    stage.stride if i == 0 else 1,
                    stage.expand_ratio,
                    style,
                )
                for i in range(stage.repeats)
            ]
            layers.append(nn.Sequential(*blocks))
        self.features = nn.Sequential(*layers)
        self.channels: tuple[int, ...] = tuple(stages[i - 1].out_channels for i in EFFICIENTNET_TAPS)
        self.strides: tuple[int, ...] = (2, 4, 8, 16, 32)

    def forward(self, x: Tensor) -> list[Tensor]:
        outputs = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in EFFICIENTNET_TAPS:
                outputs.append(x)
        return outputs


def build_efficientnet_b0() -> EfficientNetBackbone:
    """EfficientNet-B0 feature backbone (randomly initialised; see ``weights`` for ImageNet import)."""
    return EfficientNetBackbone(EFFICIENTNET_B0_STAGES)


def build_efficientnet_lite0() -> EfficientNetBackbone:
    """EfficientNet-Lite0 feature backbone (randomly initialised; ImageNet weights: ``weights``)."""
    return EfficientNetBackbone(EFFICIENTNET_B0_STAGES, EFFICIENTNET_LITE_STYLE)
