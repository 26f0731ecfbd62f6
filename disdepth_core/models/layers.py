"""Small building blocks shared by backbones and decoders (torchvision naming where it matters)."""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn


class ConvNormAct(nn.Sequential):
    """Conv2d -> BatchNorm2d -> activation, with children named ``0``, ``1``, ``2``.

    The numeric child names equal torchvision's ``Conv2dNormActivation`` so that its state-dict keys
    (``features.0.0.weight``, ``features.0.1.running_mean``) map one-to-one.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        activation: Callable[[], nn.Module] | None = nn.ReLU,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                (kernel_size - 1) // 2,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
        ]
        if activation is not None:
            layers.append(activation())
        super().__init__(*layers)
        self.out_channels = out_channels


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` without dropping more than 10% (MobileNet rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def resize_to(x: Tensor, size: tuple[int, int] | list[int]) -> Tensor:
    """Bilinear resize (``align_corners=False``) to a static size; a no-op when already that size."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(int(s) for s in size), mode="bilinear", align_corners=False)
