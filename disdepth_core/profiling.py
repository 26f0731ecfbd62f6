"""Model cost: parameter count and GFLOPs of one forward pass.

FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode``, which counts one multiply-add as
**2 FLOPs** (a 3x3 conv producing C_out x H x W outputs from C_in channels costs
2 * 9 * C_in * C_out * H * W). Papers often quote multiply-adds (MACs) as "FLOPs": divide by 2 to compare.
Only the ops FlopCounterMode knows are counted (convolutions, matmuls/linear, attention); elementwise
ops, pooling, normalisation and interpolation count 0. PyTorch's table lacks the CPU kernel of
``scaled_dot_product_attention``; it is added here with PyTorch's own SDPA formula (QK^T + AV).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count


def _cpu_sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


# Kernels FlopCounterMode does not know (attention dispatches to this one on CPU).
EXTRA_FLOP_FORMULAS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_sdpa_flops}


@dataclass(frozen=True)
class Profile:
    """Cost of one forward pass of ``model`` at ``batch x 3 x height x width``."""

    model: str
    params: int
    gflops: float
    height: int
    width: int

    @property
    def gmacs(self) -> float:
        return self.gflops / 2.0


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, height: int, width: int, batch: int = 1) -> int:
    """FLOPs (multiply-add = 2) of ``model(torch.zeros(batch, 3, height, width))`` in eval mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False, custom_mapping=EXTRA_FLOP_FORMULAS) as counter:
            model(torch.zeros(batch, 3, height, width))
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def profile_model(model: nn.Module, height: int, width: int, name: str | None = None) -> Profile:
    """Parameters and GFLOPs (multiply-add = 2 FLOPs) of ``model`` at ``height x width``, batch 1."""
    label = name or getattr(model, "name", type(model).__name__)
    return Profile(label, count_params(model), count_flops(model, height, width) / 1e9, height, width)
