"""MobileNetV2 feature backbone (Sandler et al., CVPR 2018), module names as in torchvision.

Returns the features at strides 2, 4, 8, 16 and 32 (16, 24, 32, 96, 320 channels at width 1.0): the
outputs of ``features[1]``, ``[3]``, ``[6]``, ``[13]`` and ``[num_blocks]`` (17 by default; 14..16 end
the encoder inside the 160-channel stage, which is how ``hu-lite`` stays near 1.7M parameters). The
final 1x1 conv to 1280 channels and the classifier are not part of a dense-prediction encoder and are
left out (their ImageNet weights, and those of any truncated blocks, are skipped on import).
"""

from __future__ import annotations

from torch import Tensor, nn

from .layers import ConvNormAct, make_divisible

# (expand ratio t, output channels c, repeats n, first stride s), torchvision/paper Table 2.
MOBILENETV2_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
# Indices into ``features`` whose outputs are returned at strides 2, 4, 8, 16; the stride-32 tap is the
# last block kept (``num_blocks``, 14..17).
MOBILENETV2_TAPS: tuple[int, ...] = (1, 3, 6, 13)
MOBILENETV2_BLOCKS = 17


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> linear project (1x1), residual when shapes match."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = round(in_channels * expand_ratio)
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvNormAct(in_channels, hidden, 1, activation=nn.ReLU6))
        layers += [
            ConvNormAct(hidden, hidden, 3, stride, groups=hidden, activation=nn.ReLU6),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        return x + out if self.use_residual else out


class MobileNetV2Backbone(nn.Module):
    """MobileNetV2 ``features`` returning five scales; ``width_mult`` scales every layer's channels."""

    def __init__(self, width_mult: float = 1.0, num_blocks: int = MOBILENETV2_BLOCKS) -> None:
        super().__init__()
        if not 14 <= num_blocks <= MOBILENETV2_BLOCKS:
            raise ValueError(
                f"MobileNetV2: num_blocks must be in 14..17 (stride 32 starts at 14), got {num_blocks}"
            )
        stem = make_divisible(32 * width_mult)
        layers: list[nn.Module] = [ConvNormAct(3, stem, 3, 2, activation=nn.ReLU6)]
        in_channels = stem
        for t, c, n, s in MOBILENETV2_SETTINGS:
            out_channels = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(in_channels, out_channels, s if i == 0 else 1, t))
                in_channels = out_channels
        self.features = nn.Sequential(*layers[: num_blocks + 1])
        self.taps = (*MOBILENETV2_TAPS, num_blocks)
        self.channels: tuple[int, ...] = tuple(_out_channels(self.features[i]) for i in self.taps)
        self.strides: tuple[int, ...] = (2, 4, 8, 16, 32)

    def forward(self, x: Tensor) -> list[Tensor]:
        outputs = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.taps:
                outputs.append(x)
        return outputs


def _out_channels(block: InvertedResidual) -> int:
    return block.conv[-1].num_features


def build_mobilenetv2(width_mult: float = 1.0, num_blocks: int = MOBILENETV2_BLOCKS) -> MobileNetV2Backbone:
    """MobileNetV2 feature backbone (randomly initialised; see ``weights`` for ImageNet import)."""
    return MobileNetV2Backbone(width_mult, num_blocks)
