"""Hierarchical vision-transformer encoder for the built-in teachers (Swin / PVT-style pyramid).

Patch embedding (4x4 conv, stride 4) -> four stages of pre-norm transformer blocks with patch merging
(2x2 neighbourhood concat -> LayerNorm -> linear to 2C) between them, giving features at strides 4, 8,
16 and 32. Choices where Swin (Liu et al., ICCV 2021) differs: the first ``global_from_stage`` stages use
non-overlapping window attention *without* shifted windows (no attention masks, simpler export); later
stages attend globally, which is cheap at strides 16/32 and carries the cross-window context that
shifting would. Windows are padded at the border. Attention uses ``scaled_dot_product_attention``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn


class Attention(nn.Module):
    """Multi-head self-attention over ``B x N x C`` tokens."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class TransformerBlock(nn.Module):
    """Pre-norm block: (window or global) attention + MLP, both residual, on a B x C x H x W map."""

    def __init__(self, dim: int, num_heads: int, window_size: int | None, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.window_size = window_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor) -> Tensor:
        tokens = x.permute(0, 2, 3, 1)  # B H W C
        tokens = tokens + self._attend(self.norm1(tokens))
        tokens = tokens + self.mlp(self.norm2(tokens))
        return tokens.permute(0, 3, 1, 2)

    def _attend(self, x: Tensor) -> Tensor:
        b, h, w, c = x.shape
        if self.window_size is None:
            return self.attn(x.reshape(b, h * w, c)).reshape(b, h, w, c)
        s = self.window_size
        pad_h, pad_w = (-h) % s, (-w) % s
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
        hp, wp = h + pad_h, w + pad_w
        windows = x.reshape(b, hp // s, s, wp // s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, s * s, c)
        out = self.attn(windows).reshape(b, hp // s, wp // s, s, s, c).permute(0, 1, 3, 2, 4, 5)
        return out.reshape(b, hp, wp, c)[:, :h, :w]


class PatchMerging(nn.Module):
    """Halve the resolution: concat each 2x2 neighbourhood (4C) -> LayerNorm -> Linear to ``out_dim``."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, out_dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x = F.pixel_unshuffle(x, 2).permute(0, 2, 3, 1)  # B H/2 W/2 4C
        return self.reduction(self.norm(x)).permute(0, 3, 1, 2)


class HierarchicalTransformer(nn.Module):
    """Four-stage transformer pyramid returning features at strides 4, 8, 16, 32."""

    def __init__(
        self,
        embed_dims: Sequence[int],
        depths: Sequence[int],
        head_dim: int = 32,
        window_size: int = 8,
        global_from_stage: int = 2,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        if len(embed_dims) != 4 or len(depths) != 4:
            raise ValueError(f"need four stages, got embed_dims={embed_dims}, depths={depths}")
        self.patch_embed = nn.Sequential(nn.Conv2d(3, embed_dims[0], 4, 4), _ChannelNorm(embed_dims[0]))
        self.stages = nn.ModuleList()
        for index, (dim, depth) in enumerate(zip(embed_dims, depths, strict=True)):
            window = None if index >= global_from_stage else window_size
            heads = max(1, dim // head_dim)
            blocks: list[nn.Module] = [PatchMerging(embed_dims[index - 1], dim)] if index > 0 else []
            blocks += [TransformerBlock(dim, heads, window, mlp_ratio) for _ in range(depth)]
            self.stages.append(nn.Sequential(*blocks))
        self.norms = nn.ModuleList(_ChannelNorm(dim) for dim in embed_dims)
        self.channels: tuple[int, ...] = tuple(embed_dims)
        self.strides: tuple[int, ...] = (4, 8, 16, 32)
        self.apply(_init_weights)

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.patch_embed(x)
        outputs = []
        for stage, norm in zip(self.stages, self.norms, strict=True):
            x = stage(x)
            outputs.append(norm(x))
        return outputs


class _ChannelNorm(nn.LayerNorm):
    """LayerNorm over the channels of a B x C x H x W map."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
