"""LG-Conv: a local-global convolution (DisDepth, Zheng et al., arXiv 2404.16386, Sec. 3.2).

The paper puts a global branch in parallel to every 3x3 convolution of the CNN backbone: Conv-ReLU ->
average pooling to a tiny map -> concatenate with the local feature -> attention prediction -> fuse. Its
exact formulas are not published; this implementation chooses, for a host conv ``f`` with output ``l``:

    g   = AvgPool_PxP(ReLU(W_g * x))                 # W_g: 1x1, host's stride and grouping
    a   = sigmoid(W_al * l + Up(W_ag * g))           # attention from concat[l, g] (a 1x1 conv on the
                                                     # concatenation, split into its two halves)
    out = l + a * Up(W_p * g)                        # W_p: 1x1 projection, zero-initialised

* ``Up`` is bilinear interpolation to the host's output size. The 1x1 convs on the global path are
  applied on the P x P map before upsampling (they commute with it), so the full-resolution overhead is
  two 1x1 convs, which keeps LG-Conv cheap.
* ``AvgPool_PxP`` is exact adaptive average pooling computed as two small matmuls with pooling matrices
  built from the runtime size (``layers.adaptive_avg_pool2d``), so LG-Conv exports to ONNX with static
  *and* dynamic batch/H/W; ``nn.AdaptiveAvgPool2d`` with symbolic sizes exports to a graph ONNX Runtime
  rejects.
* Depthwise hosts keep their grouping (global and attention convs are per channel); dense hosts use
  ``hidden = out_channels // reduction`` channels on the global path.
* ``W_p`` is zero-initialised, so ``out == l`` at init: a pretrained backbone is unchanged (paper: zero
  init), while gradients still reach ``W_p`` from the first step.
"""

from __future__ import annotations

from torch import Tensor, nn

from .layers import adaptive_avg_pool2d, resize_to


class LGConv(nn.Module):
    """Wraps a 3x3 ``nn.Conv2d`` (``host``) with the zero-initialised global branch described above."""

    def __init__(self, host: nn.Conv2d, pool_size: int = 4, reduction: int = 4) -> None:
        super().__init__()
        if pool_size < 1 or reduction < 1:
            raise ValueError(f"LGConv: pool_size and reduction must be >= 1, got {pool_size}, {reduction}")
        self.host = host
        self.pool_size = pool_size
        out_channels, groups = host.out_channels, host.groups
        depthwise = groups > 1 and groups == host.in_channels
        hidden = out_channels if groups > 1 else max(8, out_channels // reduction)
        branch_groups = groups if depthwise else 1
        self.global_conv = nn.Conv2d(host.in_channels, hidden, 1, stride=host.stride, groups=branch_groups)
        self.global_act = nn.ReLU(inplace=True)
        self.attn_local = nn.Conv2d(out_channels, out_channels, 1, groups=branch_groups)
        self.attn_global = nn.Conv2d(hidden, out_channels, 1, groups=branch_groups, bias=False)
        self.project = nn.Conv2d(hidden, out_channels, 1, groups=branch_groups)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    def forward(self, x: Tensor) -> Tensor:
        local = self.host(x)
        size = local.shape[-2:]
        pooled = adaptive_avg_pool2d(self.global_act(self.global_conv(x)), self.pool_size)
        attention = (self.attn_local(local) + resize_to(self.attn_global(pooled), size)).sigmoid()
        return local + attention * resize_to(self.project(pooled), size)


def insert_lgconv(
    module: nn.Module,
    pool_size: int = 4,
    reduction: int = 4,
    include_depthwise: bool = True,
    kernel_sizes: tuple[int, ...] = (3,),
) -> int:
    """Wrap every ``k x k`` Conv2d (k in ``kernel_sizes``) of ``module`` in an :class:`LGConv`, in place.

    Depthwise convs are wrapped too unless ``include_depthwise`` is False (other grouped convs always
    are). Existing LG-Convs are left alone, so calling this twice is harmless. Returns the count wrapped.
    """
    count = 0
    for name, child in module.named_children():
        if isinstance(child, LGConv):
            continue
        if isinstance(child, nn.Conv2d) and _is_target(child, include_depthwise, kernel_sizes):
            setattr(module, name, LGConv(child, pool_size, reduction))
            count += 1
        else:
            count += insert_lgconv(child, pool_size, reduction, include_depthwise, kernel_sizes)
    return count


def _is_target(conv: nn.Conv2d, include_depthwise: bool, kernel_sizes: tuple[int, ...]) -> bool:
    square = conv.kernel_size[0] == conv.kernel_size[1] and conv.kernel_size[0] in kernel_sizes
    depthwise = conv.groups > 1 and conv.groups == conv.in_channels
    return square and (include_depthwise or not depthwise)
