"""Model zoo contract: shapes, depth range, uncertainty, LG-Conv behaviour, gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from disdepth_core.models import DepthPrediction, GhostDecoder, build_model, insert_lgconv, list_models
from disdepth_core.models.layers import adaptive_avg_pool2d
from disdepth_core.models.lgconv import LGConv
from disdepth_core.models.mobilenetv2 import build_mobilenetv2
from disdepth_core.models.resnet import build_resnet

STUDENTS = [
    "disdepth-b0",
    "disdepth-lite0",
    "disdepth-mbv2",
    "disdepth-r18",
    "disdepth-r34",
    "disdepth-r50",
    "hu-lite",
]


def test_registry_lists_contract_names() -> None:
    assert set(STUDENTS) <= set(list_models())


@pytest.mark.parametrize("name", STUDENTS)
def test_student_contract(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, max_depth=80.0, n_bins=8).eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        pred = model(x)
        features = model.encode(x)
    assert isinstance(pred, DepthPrediction)
    assert pred.depth.shape == (1, 1, 64, 96) and pred.uncertainty.shape == (1, 1, 64, 96)
    assert pred.bin_centers.shape == (1, 8)
    assert model.min_depth == 0.1 and model.max_depth == 80.0
    assert torch.all(pred.depth >= model.min_depth) and torch.all(pred.depth <= model.max_depth)
    assert torch.all(pred.uncertainty >= 0)
    assert [f.shape[1] for f in features] == list(model.feature_channels)
    assert [64 // f.shape[2] for f in features] == list(model.feature_strides)
    rebuilt = build_model(model.name, **model.config)
    assert rebuilt.config == model.config


def test_unknown_override_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown config keys"):
        build_model("hu-lite", not_a_key=1)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("no-such-model")


def test_hu_lite_parameter_budget() -> None:
    params = sum(p.numel() for p in build_model("hu-lite").parameters())
    assert 1.6e6 < params < 1.8e6  # Hu et al. (2021): 1.7M


@pytest.mark.parametrize("make", [lambda: build_resnet("resnet18"), lambda: build_mobilenetv2(0.5)])
def test_lgconv_is_identity_at_init_and_adds_params(make) -> None:
    torch.manual_seed(0)
    backbone = make().eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before = backbone(x)
    n_before = sum(p.numel() for p in backbone.parameters())
    wrapped = insert_lgconv(backbone, pool_size=4)
    assert wrapped > 0
    assert insert_lgconv(backbone) == 0  # idempotent
    assert sum(p.numel() for p in backbone.parameters() if p.requires_grad) > n_before
    with torch.no_grad():
        after = backbone(x)
    for a, b in zip(before, after, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_lgconv_depthwise_switch() -> None:
    with_dw = build_mobilenetv2(0.5)
    without_dw = build_mobilenetv2(0.5)
    assert insert_lgconv(with_dw) > insert_lgconv(without_dw, include_depthwise=False)


def test_gradients_reach_lgconv_and_head() -> None:
    torch.manual_seed(0)
    model = build_model("disdepth-mbv2", width_mult=0.5, decoder_width=32, n_bins=8)
    model.train()
    pred = model(torch.randn(2, 3, 64, 64))
    (pred.depth.mean() + pred.uncertainty.mean()).backward()
    lgconvs = [m for m in model.modules() if isinstance(m, LGConv)]
    assert lgconvs
    assert all(
        m.project.weight.grad is not None and m.project.weight.grad.abs().sum() > 0 for m in lgconvs[:3]
    )
    assert model.head.logits[-1].weight.grad.abs().sum() > 0
    assert model.head.widths[-1].weight.grad.abs().sum() > 0


def test_lgconv_off() -> None:
    model = build_model("disdepth-b0", lgconv=False)
    assert not any(isinstance(m, LGConv) for m in model.modules())


@pytest.mark.parametrize("hw", [(1, 1), (3, 5), (7, 9), (13, 4), (8, 8), (17, 31)])
@pytest.mark.parametrize("bins", [1, 4, 5])
def test_matmul_adaptive_pool_equals_torch(hw: tuple[int, int], bins: int) -> None:
    """LG-Conv's exportable pooling equals F.adaptive_avg_pool2d (values and gradients), also for
    sizes not divisible by ``bins`` and smaller than it (overlapping bins)."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, *hw, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(2, 3, bins, bins, dtype=torch.float64)
    ours = adaptive_avg_pool2d(x, bins)
    reference = F.adaptive_avg_pool2d(x, bins)
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-12)
    (grad,) = torch.autograd.grad((ours * weight).sum(), x)
    (grad_ref,) = torch.autograd.grad((reference * weight).sum(), x)
    torch.testing.assert_close(grad, grad_ref, rtol=0, atol=1e-12)


TEACHERS = ["teacher-tiny", "teacher-small", "teacher-base", "teacher-large"]


@pytest.mark.parametrize("name", TEACHERS)
def test_teacher_contract(name: str) -> None:
    model = build_model(name, n_bins=8).eval()
    with torch.no_grad():
        pred = model(torch.randn(1, 3, 32, 64))
    assert model.feature_strides == (4, 8, 16, 32)
    assert pred.depth.shape == (1, 1, 32, 64) and pred.bin_centers.shape == (1, 8)
    assert torch.all(pred.depth >= model.min_depth) and torch.all(pred.depth <= model.max_depth)
    assert torch.all(pred.uncertainty >= 0)


def test_every_registered_model_is_covered() -> None:
    assert set(list_models()) == set(STUDENTS) | set(TEACHERS)


def test_ghost_decoder_trains_fam_only_and_stays_frozen() -> None:
    torch.manual_seed(0)
    student = build_model("disdepth-mbv2", width_mult=0.5, decoder_width=32, n_bins=8)
    teacher = build_model("teacher-tiny", n_bins=8)
    ghost = GhostDecoder(teacher, student).train()
    assert not ghost.decoder.training and not ghost.head.training and not ghost.teacher.training
    frozen = {k: v.clone() for k, v in ghost.state_dict().items() if not k.startswith("fam.")}
    assert all(not p.requires_grad for n, p in ghost.named_parameters() if not n.startswith("fam."))
    trainable = [p for p in ghost.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=0.1)
    pred, acclimated = ghost(torch.randn(2, 3, 64, 64))
    assert [f.shape[1] for f in acclimated] == list(student.feature_channels)
    assert [64 // f.shape[-1] for f in acclimated] == [2, 4, 8, 16, 32]  # stride 2 upsampled from stride 4
    pred.depth.mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in ghost.fam.adapters[0].parameters())
    optimizer.step()
    for key, value in ghost.state_dict().items():
        if key in frozen:
            assert torch.equal(value, frozen[key]), key


def test_ghost_decoder_can_train_teacher_encoder() -> None:
    student = build_model("hu-lite", n_bins=8)
    ghost = GhostDecoder(build_model("teacher-tiny"), student, freeze_teacher_encoder=False).train()
    pred, _ = ghost(torch.randn(1, 3, 64, 64))
    pred.depth.mean().backward()
    assert ghost.teacher.encoder.patch_embed[0].weight.grad is not None
    assert all(p.grad is None for p in ghost.decoder.parameters())
