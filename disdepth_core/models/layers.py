"""Small building blocks shared by backbones and decoders (torchvision naming where it matters)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow "SAME" padding (output size ``ceil(input / stride)``).

    TensorFlow pads ``total = max((ceil(n / s) - 1) * s + k - n, 0)`` per side pair and puts the odd
    pixel at the bottom/right; TF-trained weights (EfficientNet-Lite) expect exactly that. Stride 1 pads
    symmetrically, a constant folded into the convolution. Strided convs pad explicitly with amounts
    computed from the input size as ``k - s + (-n mod s)`` (the same value for ``k >= s``), so static
    export sees constants and a dynamic export whose sizes are multiples of 32 simplifies them to
    constants too (``-32u mod 2 == 0``); no data-dependent branch is traced.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        bias: bool = False,
    ) -> None:
        if kernel_size < stride:
            raise ValueError(f"Conv2dSame: kernel_size {kernel_size} must be >= stride {stride}")
        padding = (kernel_size - 1) // 2 if stride == 1 else 0
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == (1, 1):
            return super().forward(x)
        pads: list[int | torch.SymInt] = []
        sizes = (x.shape[-1], x.shape[-2])
        for size, k, s in zip(sizes, self.kernel_size[::-1], self.stride[::-1], strict=True):
            total = k - s + (-size) % s
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


class ConvNormAct(nn.Sequential):
    """Conv2d -> BatchNorm2d -> activation, with children named ``0``, ``1``, ``2``.

    The numeric child names equal torchvision's ``Conv2dNormActivation`` so that its state-dict keys
    (``features.0.0.weight``, ``features.0.1.running_mean``) map one-to-one. ``tf_same`` uses
    :class:`Conv2dSame` (TensorFlow padding) instead of PyTorch's symmetric ``(k - 1) // 2``;
    ``bn_eps`` is the BatchNorm epsilon (TensorFlow models use 1e-3).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        activation: Callable[[], nn.Module] | None = nn.ReLU,
        tf_same: bool = False,
        bn_eps: float = 1e-5,
    ) -> None:
        if tf_same:
            conv: nn.Conv2d = Conv2dSame(in_channels, out_channels, kernel_size, stride, groups=groups)
        else:
            conv = nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                (kernel_size - 1) // 2,
                groups=groups,
                bias=False,
            )
        layers: list[nn.Module] = [conv, nn.BatchNorm2d(out_channels, eps=bn_eps)]
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


def resize_to(x: Tensor, size: Sequence[int | torch.SymInt] | torch.Size) -> Tensor:
    """Bilinear resize (``align_corners=False``) to ``size``; a no-op when already that size.

    ``size`` is passed through as given (no ``int()``), so a size taken from another tensor's shape stays
    symbolic under ``torch.export`` and a dynamic ONNX export resizes to the runtime size. The no-op
    shortcut is taken only when every size is a plain ``int``: with symbolic sizes an equality that holds
    at the example input (e.g. LG-Conv's 4x4 pooled map and a 4x4 feature at 64x64) would be baked into
    the exported graph and break it at other sizes.
    """
    size = tuple(size)
    current = tuple(x.shape[-2:])
    if all(type(s) is int for s in (*current, *size)) and current == size:  # no guard on SymInts
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def adaptive_pool_matrix(length: int | torch.SymInt, bins: int, like: Tensor) -> Tensor:
    """``bins x length`` averaging matrix of 1-D adaptive average pooling (PyTorch's bin edges).

    Row ``i`` is ``1 / n_i`` on ``floor(i * length / bins) <= y < ceil((i + 1) * length / bins)`` and 0
    elsewhere, so ``matrix @ v`` equals ``adaptive_avg_pool1d(v, bins)``. Built from the (possibly
    symbolic) ``length`` with tensor ops, in ``like``'s dtype and device.
    """
    index = torch.arange(bins, device=like.device).unsqueeze(1)
    start = (index * length).div(bins, rounding_mode="floor")
    end = ((index + 1) * length + bins - 1).div(bins, rounding_mode="floor")
    y = torch.arange(length, device=like.device).unsqueeze(0)
    mask = ((y >= start) & (y < end)).to(like.dtype)
    return mask / mask.sum(dim=1, keepdim=True)


def adaptive_avg_pool2d(x: Tensor, output_size: int) -> Tensor:
    """Exact ``F.adaptive_avg_pool2d(x, output_size)`` as ``P_h @ x @ P_w^T`` (shape-dynamic, exportable).

    The pooling matrices come from the runtime ``H`` and ``W`` (:func:`adaptive_pool_matrix`), so the
    op exports with dynamic spatial sizes (``AdaptiveAvgPool2d`` with symbolic sizes exports to a graph
    ONNX Runtime cannot run). Cost: about ``output_size`` multiply-adds per input element (W first).
    """
    pool_h = adaptive_pool_matrix(x.shape[-2], output_size, x)
    pool_w = adaptive_pool_matrix(x.shape[-1], output_size, x)
    return pool_h @ (x @ pool_w.transpose(0, 1))
