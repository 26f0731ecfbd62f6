"""Losses: hand-computed values, invariances, invalid pixels ignored, gradients reach every part."""

import math

import pytest
import torch

from disdepth_core.losses import (
    AttentiveKDLoss,
    BinsChamferLoss,
    FeatureKDLoss,
    GradientMatchingLoss,
    OutputKDLoss,
    SILogLoss,
    silog_loss,
    ssi_inverse_depth_loss,
)


def test_silog_zero_invariance_and_hand_value():
    gt = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert float(silog_loss(gt.clone(), gt)) == pytest.approx(0.0, abs=1e-4)
    assert float(silog_loss(2 * gt, gt, variance_focus=1.0)) == pytest.approx(0.0, abs=1e-4)
    # two pixels: g = [ln 2, 0] -> mean(g^2) = ln2^2/2, mean(g)^2 = ln2^2/4
    pred, target = torch.tensor([2.0, 1.0]), torch.tensor([1.0, 1.0])
    ln2 = math.log(2)
    expected = 10 * math.sqrt(ln2**2 / 2 - 0.85 * ln2**2 / 4)
    assert float(SILogLoss()(pred, target)) == pytest.approx(expected, rel=1e-6)


def test_silog_ignores_invalid_and_has_gradient():
    pred = torch.tensor([2.0, 1.0, 7.0, 9.0], requires_grad=True)
    target = torch.tensor([1.0, 1.0, 0.0, float("nan")])
    loss = silog_loss(pred, target)
    ref = silog_loss(pred[:2], target[:2])
    assert loss.item() == pytest.approx(ref.item())
    loss.backward()
    assert pred.grad[2] == 0 and pred.grad[3] == 0 and pred.grad[0] != 0
    empty = silog_loss(pred, torch.zeros(4))
    assert empty.item() == 0.0 and empty.requires_grad


def test_bins_chamfer_hand_value_and_invalid():
    centers = torch.tensor([[1.0, 3.0]], requires_grad=True)
    gt = torch.tensor([[[[1.0, 2.0, 4.0, 0.0]]]])  # 0 is invalid
    # gt -> nearest centre: 0, 1, 1 -> mean 2/3; centre -> nearest gt: 0, 1 -> mean 1/2
    loss = BinsChamferLoss()(centers, gt)
    assert loss.item() == pytest.approx(2 / 3 + 1 / 2)
    loss.backward()
    assert centers.grad.abs().sum() > 0


def test_bins_chamfer_matches_brute_force():
    torch.manual_seed(0)
    centers = torch.rand(3, 16) * 10
    gt = torch.rand(3, 1, 5, 7) * 10
    d = (gt.flatten(1)[:, :, None] - centers[:, None, :]) ** 2
    brute = (d.min(dim=2).values.mean(dim=1) + d.min(dim=1).values.mean(dim=1)).mean()
    assert float(BinsChamferLoss()(centers, gt)) == pytest.approx(float(brute), rel=1e-5)


def test_gradient_matching_scale_invariant_and_detects_edges():
    gt = torch.rand(1, 1, 16, 16) + 1
    loss = GradientMatchingLoss(scales=3)
    assert float(loss(3 * gt, gt)) == pytest.approx(0.0, abs=1e-6)
    bumped = gt.clone()
    bumped[..., 4:8, 4:8] *= 2
    assert float(loss(bumped, gt)) > 0
    bumped_invalid = gt.clone()
    bumped_invalid[..., 4:8, 4:8] = 0  # invalid GT there: no penalty
    assert float(loss(bumped, bumped_invalid * (bumped_invalid > 0))) == pytest.approx(0.0, abs=1e-6)


def _feats(batch=2):
    torch.manual_seed(0)
    student = [
        torch.randn(batch, 8, 8, 8, requires_grad=True),
        torch.randn(batch, 16, 4, 4, requires_grad=True),
    ]
    teacher = [torch.randn(batch, 12, 8, 8), torch.randn(batch, 24, 2, 2)]  # second scale: other stride
    return student, teacher


def test_feature_kd_zero_when_student_matches_teacher_up_to_affine():
    loss = FeatureKDLoss([4], [4])
    with torch.no_grad():
        loss.adapters[0].weight.copy_(torch.eye(4)[:, :, None, None])
        loss.adapters[0].bias.zero_()
    t = torch.randn(2, 4, 5, 5)
    assert loss([3 * t + 1], [t]).item() == pytest.approx(0.0, abs=1e-6)  # per-channel normalised


@pytest.mark.parametrize("with_gt", [False, True])
def test_attentive_kd_gradients_reach_student_adapters_and_heads(with_gt):
    student, teacher = _feats()
    loss_fn = AttentiveKDLoss([8, 16], [12, 24], entropy_weight=0.01)
    kwargs = {}
    if with_gt:
        gt = torch.rand(2, 1, 32, 32) + 1
        gt[:, :, :4] = 0  # invalid rows
        kwargs = {"teacher_depth": gt * (1 + 0.1 * torch.rand_like(gt)), "gt_depth": gt}
    loss = loss_fn(student, teacher, **kwargs)
    loss.backward()
    assert all(s.grad is not None and s.grad.abs().sum() > 0 for s in student)
    for module in (*loss_fn.adapters, *loss_fn.heads):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())
    assert set(loss_fn.last_terms) == {"kd", "attention"}


def test_attention_weights_have_floor_and_unit_mean():
    loss_fn = AttentiveKDLoss([4], [4], floor=0.25, temperature=0.01)
    t = torch.randn(3, 4, 6, 6)
    log_a = loss_fn.attention_logits(0, t)
    w = loss_fn.weights(log_a, torch.Size([3, 1, 6, 6]))
    assert torch.allclose(w.mean(dim=(1, 2, 3)), torch.ones(3), atol=1e-5)
    assert w.min().item() >= 0.25 - 1e-6


def test_attention_head_learns_where_teacher_is_right():
    # Teacher correct on the left half only, and its feature says which half is which.
    torch.manual_seed(0)
    teacher = torch.zeros(4, 2, 4, 4)
    teacher[:, 0, :, :2] = 1.0
    teacher[:, 1, :, 2:] = 1.0
    gt = torch.ones(4, 1, 16, 16) * 2
    teacher_depth = gt.clone()
    teacher_depth[..., 8:] = 4.0
    student = [torch.randn(4, 3, 4, 4)]
    loss_fn = AttentiveKDLoss([3], [2], attention_weight=1.0, error_temperature=0.05)
    opt = torch.optim.Adam(loss_fn.heads.parameters(), lr=0.05)
    for _ in range(60):
        opt.zero_grad()
        loss_fn(student, [teacher], teacher_depth=teacher_depth, gt_depth=gt).backward()
        opt.step()
    a = loss_fn.attention_logits(0, teacher).exp().view(4, 4, 4)
    assert a[..., :2].sum(dim=(1, 2)).mean().item() > 0.9


def test_attentive_kd_requires_depths_when_forced():
    student, teacher = _feats()
    with pytest.raises(ValueError, match="gt_depth"):
        AttentiveKDLoss([8, 16], [12, 24], attention_target="teacher_error")(student, teacher)
    with pytest.raises(ValueError, match="2 student"):
        AttentiveKDLoss([8, 16, 4], [12, 24, 4])(student, teacher)


def test_output_kd_confidence_mask():
    teacher = torch.ones(1, 1, 2, 2) * 2
    student = teacher.clone().requires_grad_(True)
    student_bad = torch.tensor([[[[2.0, 2.0], [2.0, 8.0]]]])
    unc = torch.tensor([[[[0.1, 0.1], [0.1, 5.0]]]])
    assert OutputKDLoss()(student, teacher).item() == pytest.approx(0.0, abs=1e-4)
    assert float(OutputKDLoss()(student_bad, teacher, unc)) > 1.0
    # the uncertain pixel (the only wrong one) is dropped by the 0.75 quantile
    assert float(OutputKDLoss(confidence_quantile=0.75)(student_bad, teacher, unc)) == pytest.approx(
        0.0, abs=1e-4
    )


def test_ssi_inverse_depth_invariant_to_disparity_scale_and_shift_hand_value():
    depth = torch.tensor([1.0, 2.0, 4.0, 8.0]).view(1, 1, 2, 2)
    affine = 1.0 / (3.0 / depth + 0.25)  # disparity scaled by 3 and shifted by 0.25
    assert float(ssi_inverse_depth_loss(affine, depth)) == pytest.approx(0.0, abs=1e-6)
    # a depth-scale change is a disparity scale: invisible; a depth shift is not
    assert float(ssi_inverse_depth_loss(5 * depth, depth)) == pytest.approx(0.0, abs=1e-6)
    assert float(ssi_inverse_depth_loss(depth + 1.0, depth)) > 0.05
    # reversed order, by hand: target disparity [1, .5, .25, .125] -> median (lower) .25, MAD .28125;
    # prediction disparity is the mirror image [.125, .25, .5, 1] -> median .25, same MAD
    pred = torch.tensor([8.0, 4.0, 2.0, 1.0]).view(1, 1, 2, 2)
    t = (torch.tensor([1.0, 0.5, 0.25, 0.125]) - 0.25) / 0.28125
    p = (torch.tensor([0.125, 0.25, 0.5, 1.0]) - 0.25) / 0.28125
    assert float(ssi_inverse_depth_loss(pred, depth)) == pytest.approx(float((p - t).abs().mean()), rel=1e-6)


def test_ssi_inverse_depth_ignores_invalid_pixels_and_images_and_has_gradient():
    target = torch.tensor([[1.0, 2.0, 4.0, float("nan")], [0.0, 0.0, 0.0, 3.0]]).view(2, 1, 2, 2)
    pred = torch.tensor([[2.0, 1.0, 3.0, 6.0], [1.0, 1.0, 1.0, 1.0]]).view(2, 1, 2, 2).requires_grad_()
    loss = ssi_inverse_depth_loss(pred, target)  # image 2 has one valid pixel: skipped
    only = ssi_inverse_depth_loss(pred[:1].view(1, 1, 1, 4)[..., :3], target[:1].view(1, 1, 1, 4)[..., :3])
    assert loss.item() == pytest.approx(only.item()) and loss.item() > 0
    loss.backward()
    grad = pred.grad.view(2, 4)
    assert grad[0, 3] == 0 and grad[0, :3].abs().sum() > 0 and grad[1].abs().sum() == 0
    empty = ssi_inverse_depth_loss(pred, torch.zeros_like(target))
    assert empty.item() == 0.0 and empty.requires_grad
