"""`disdepth profile`: FLOPs of a hand-computed toy model through the CLI's JSON output."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import disdepth_core.models.registry as registry
from disdepth_core.cli.main import main
from disdepth_core.models import build_model
from disdepth_core.profiling import count_flops, count_params


class _ToyEncoder(nn.Module):
    """One 3x3 conv (3 -> 4, stride 1) and one Linear (4 -> 2) applied per pixel."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.linear = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.conv(x).permute(0, 2, 3, 1))


def test_count_flops_toy_by_hand() -> None:
    h, w = 32, 64
    conv = 2 * (3 * 3 * 3) * 4 * h * w  # multiply-add = 2 FLOPs, per output element 27 MACs
    linear = 2 * 4 * 2 * h * w
    assert count_flops(_ToyEncoder(), h, w) == conv + linear
    assert count_params(_ToyEncoder()) == (3 * 9 * 4 + 4) + (4 * 2 + 2)


@pytest.fixture
def toy_model_registered(monkeypatch):
    """Register a model whose whole cost is one 3x3 conv + one Linear on the head (hand-countable)."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    class Encoder(nn.Module):
        channels, strides = (4,), (32,)

        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, stride=32, padding=1)

        def forward(self, x):
            return [self.conv(x)]

    registry.register_model("toy", {"decoder_width": 4, "n_bins": 2, "bins_hidden": 3})(
        lambda config: Encoder()
    )
    return build_model("toy")


def test_profile_cli_json(toy_model_registered, capsys) -> None:
    model = toy_model_registered
    assert main(["profile", "--model", "toy", "--height", "64", "--width", "96", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["model"] == "toy"
    assert payload["params"] == sum(p.numel() for p in model.parameters())
    # By hand at 64 x 96 (multiply-add = 2 FLOPs; bias adds, BN, softmax, resizes count 0):
    encoder = 2 * (9 * 3) * 4 * (2 * 3)  # 3x3 conv 3->4, stride 32 -> 2 x 3 map
    lateral = 2 * 4 * 16 * (2 * 3)  # decoder 1x1 conv 4->16 (min width 16)
    refine = 2 * (9 * 16) * 16 * (4 * 6 + 8 * 12 + 16 * 24 + 32 * 48)  # x2 up + 3x3 conv, stride 32 -> 2
    bins_mlp = 2 * 16 * 3 + 2 * 3 * 2  # Linear 16->3, Linear 3->2 on the pooled map
    logits = 2 * (9 * 16) * 16 * (32 * 48) + 2 * 16 * 2 * (32 * 48)  # 3x3 conv 16->16, 1x1 conv 16->2
    expected = encoder + lateral + refine + bins_mlp + logits
    assert expected == 16_578_684
    assert payload["gflops"] == pytest.approx(expected / 1e9, rel=0, abs=1e-12)


def test_profile_cli_rejects_bad_size(capsys) -> None:
    assert main(["profile", "--model", "hu-lite", "--height", "100", "--width", "96"]) == 2
    assert "multiples of 16" in capsys.readouterr().err


def test_attention_flops_are_counted_on_cpu() -> None:
    class Attend(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            tokens = (
                x[:, :1].expand(1, 32, 8, 8).flatten(2).transpose(1, 2).reshape(1, 64, 2, 16).transpose(1, 2)
            )
            return torch.nn.functional.scaled_dot_product_attention(tokens, tokens, tokens)

    assert count_flops(Attend(), 8, 8) == 2 * 2 * (64 * 64 * 16) * 2  # 2 heads, QK^T and AV, MAdd = 2
