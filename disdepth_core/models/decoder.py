"""Decoders fusing multi-scale encoder features into one stride-2 map.

* :class:`FusionDecoder`: DisDepth's "simple decoder" (Zheng et al. 2024, Sec. 3.1: conv + upsample,
  fusing all scales): top-down, each step upsamples the coarser map to the next encoder scale,
  concatenates the skip feature and applies a 3x3 conv-BN-ReLU. Channel widths halve per scale from
  ``width`` (never below ``min_width``).
* :class:`MFFDecoder`: Hu et al. (2019/2021) multi-scale feature fusion: an up-sampling decoder branch
  plus an MFF branch that resizes every encoder scale to the output stride, reduces each to
  ``mff_channels`` and fuses them; a refinement conv merges both branches.

Both decoders keep upsampling (x2 + conv) until ``out_stride`` is reached, so an encoder whose finest
feature is at stride 4 (a transformer) still yields a stride-2 map.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, cat, nn

from .layers import ConvNormAct, resize_to


def _level_widths(n_levels: int, width: int, min_width: int) -> list[int]:
    """Channels per decoder level, finest first: ``width`` at the coarsest, halving towards the finest."""
    return [max(min_width, width >> (n_levels - 1 - i)) for i in range(n_levels)]


class FusionDecoder(nn.Module):
    """Top-down conv + upsample decoder over all encoder scales, output at ``out_stride``."""

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        width: int = 128,
        min_width: int = 16,
        out_stride: int = 2,
    ) -> None:
        super().__init__()
        widths = _level_widths(len(in_channels), width, min_width)
        self.lateral = ConvNormAct(in_channels[-1], widths[-1], 1)
        self.fuse = nn.ModuleList(
            ConvNormAct(widths[i + 1] + in_channels[i], widths[i], 3)
            for i in reversed(range(len(widths) - 1))
        )
        extra = []
        stride = in_strides[0]
        while stride > out_stride:
            extra.append(ConvNormAct(widths[0], widths[0], 3))
            stride //= 2
        self.refine = nn.ModuleList(extra)
        self.out_channels = widths[0]
        self.out_stride = stride

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        x = self.lateral(features[-1])
        for conv, skip in zip(self.fuse, reversed(features[:-1]), strict=True):
            x = conv(cat([resize_to(x, skip.shape[-2:]), skip], dim=1))
        for conv in self.refine:
            x = conv(resize_to(x, (x.shape[-2] * 2, x.shape[-1] * 2)))
        return x


class MFFDecoder(nn.Module):
    """Hu et al. decoder: up-sampling branch + multi-scale feature fusion (MFF) + refinement."""

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        width: int = 128,
        mff_channels: int = 16,
        out_stride: int = 2,
    ) -> None:
        super().__init__()
        n_up = (in_strides[-1] // out_stride).bit_length() - 1
        widths = [max(mff_channels, width >> i) for i in range(n_up + 1)]
        self.lateral = ConvNormAct(in_channels[-1], widths[0], 1)
        self.up = nn.ModuleList(ConvNormAct(widths[i], widths[i + 1], 3) for i in range(n_up))
        self.mff = nn.ModuleList(ConvNormAct(c, mff_channels, 3) for c in in_channels)
        mff_total = mff_channels * len(in_channels)
        self.mff_fuse = ConvNormAct(mff_total, mff_total, 3)
        self.refine = nn.Sequential(
            ConvNormAct(widths[-1] + mff_total, widths[-1], 3), ConvNormAct(widths[-1], widths[-1], 3)
        )
        self.out_channels = widths[-1]
        self.out_stride = out_stride

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        x = self.lateral(features[-1])
        for conv in self.up:
            x = conv(resize_to(x, (x.shape[-2] * 2, x.shape[-1] * 2)))
        size = x.shape[-2:]
        mff = self.mff_fuse(
            cat([conv(resize_to(f, size)) for conv, f in zip(self.mff, features, strict=True)], 1)
        )
        return self.refine(cat([x, mff], dim=1))


DECODERS: dict[str, type[nn.Module]] = {"fusion": FusionDecoder, "mff": MFFDecoder}
