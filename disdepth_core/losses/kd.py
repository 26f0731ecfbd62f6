"""Knowledge-distillation losses: attentive feature KD (DisDepth), plain feature KD, output KD.

DisDepth (Zheng et al., arXiv 2404.16386) distils acclimated teacher features (the teacher encoder
behind the feature acclimation module, FAM) into the student with an *attentive* KD loss that learns
which regions matter. The paper gives no formula; this module's design, per scale ``i``:

1. Adapter: ``s_i = A_i(student_i)``, a 1 x 1 conv from the student's to the teacher's channels,
   resized bilinearly to the teacher map if the strides differ.
2. Per-channel normalisation over space (both sides): ``n(x) = (x - mean_hw x) / (std_hw x + eps)``;
   the teacher is detached (it is frozen during KD). Per-pixel imitation error
   ``e_i(p) = mean_c (n(s_i) - n(t_i))^2``.
3. Attention: a head ``H_i`` (3x3 conv -> ReLU -> 1x1 conv) on the detached teacher feature gives
   logits ``z``; ``a = softmax_p(z / tau)`` over the ``h w`` positions, and the weights are
   ``w = (1 - floor) * hw * a + floor`` (mean exactly 1, never below ``floor``: no collapse).
4. Imitation: ``L_kd = sum_i lambda_i * mean_{b,p}(sg(w_i) * e_i)``.

Why the weights are detached in step 4 (``sg``): trained through the imitation term the head would
simply move weight to where ``e`` is already small, i.e. learn to switch KD off. Instead the head is
trained by its own target distribution ``q`` with ``L_att = sum_i CE(q_i, a_i)`` (+ optional entropy
regulariser ``entropy_weight * (log(hw) - H(a))``), chosen by ``attention_target``:

- ``"teacher_error"`` (default when ``teacher_depth`` and ``gt_depth`` are passed to ``forward``):
  ``q ∝ exp(-err / error_temperature)`` over cells with ground truth, ``err`` = mean
  ``|log teacher - log gt|`` pooled to the cell. The head learns *where the teacher is right*, which
  it can then predict on unlabeled images (Hu et al. 2105.06143's auxiliary data) where no GT exists.
- ``"imitation_error"`` (fallback without GT, or forced): ``q ∝ sg(e)``: attend to where the student
  still differs most from the teacher (hard-region mining).

``forward`` returns ``L_kd + attention_weight * L_att``; the parts are kept in ``last_terms`` for
logging. ``FeatureKDLoss`` is the ablation: same adapters and normalisation, uniform weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disdepth_core.losses.silog import silog_loss, valid_depth_mask

ATTENTION_TARGETS = ("auto", "teacher_error", "imitation_error")


def channel_normalize(x: Tensor, eps: float = 1e-5) -> Tensor:
    """Zero mean, unit standard deviation per (batch, channel) over the spatial positions."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = x.std(dim=(2, 3), keepdim=True, unbiased=False)
    return (x - mean) / (std + eps)


def _check_features(student: Sequence[Tensor], teacher: Sequence[Tensor], n: int) -> None:
    if len(student) != n or len(teacher) != n:
        raise ValueError(
            f"expected {n} feature scales, got {len(student)} student and {len(teacher)} teacher maps"
        )


class FeatureKDLoss(nn.Module):
    """Plain feature KD: ``sum_i lambda_i * mean_{b,p} e_i`` with the adapters of ``AttentiveKDLoss``.

    ``forward(student_feats, teacher_feats, **unused) -> Tensor``; extra keyword arguments (teacher
    depth, GT) are accepted and ignored so that both KD losses are interchangeable in a trainer.
    """

    def __init__(
        self,
        student_channels: Sequence[int],
        teacher_channels: Sequence[int],
        scale_weights: Sequence[float] | None = None,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        if len(student_channels) != len(teacher_channels):
            raise ValueError("student_channels and teacher_channels must list the same number of scales")
        self.n_scales = len(student_channels)
        self.adapters = nn.ModuleList(
            nn.Conv2d(cs, ct, kernel_size=1)
            for cs, ct in zip(student_channels, teacher_channels, strict=True)
        )
        weights = [1.0] * self.n_scales if scale_weights is None else [float(w) for w in scale_weights]
        if len(weights) != self.n_scales:
            raise ValueError(f"scale_weights needs {self.n_scales} values, got {len(weights)}")
        self.scale_weights = weights
        self.normalize = normalize
        self.last_terms: dict[str, float] = {}

    def imitation_error(self, i: int, student: Tensor, teacher: Tensor) -> Tensor:
        """Per-pixel error ``e_i`` (B x 1 x h x w) at the teacher map's resolution."""
        s = self.adapters[i](student)
        if s.shape[-2:] != teacher.shape[-2:]:
            s = F.interpolate(s, size=teacher.shape[-2:], mode="bilinear", align_corners=False)
        t = teacher.detach()
        if self.normalize:
            s, t = channel_normalize(s), channel_normalize(t)
        return ((s - t) ** 2).mean(dim=1, keepdim=True)

    def forward(
        self, student_feats: Sequence[Tensor], teacher_feats: Sequence[Tensor], **_: object
    ) -> Tensor:
        _check_features(student_feats, teacher_feats, self.n_scales)
        total = student_feats[0].new_zeros(())
        for i, (s, t) in enumerate(zip(student_feats, teacher_feats, strict=True)):
            total = total + self.scale_weights[i] * self.imitation_error(i, s, t).mean()
        self.last_terms = {"kd": float(total.detach())}
        return total


class AttentiveKDLoss(FeatureKDLoss):
    """DisDepth attentive feature KD (design and formulas in the module docstring).

    ``forward(student_feats, teacher_feats, teacher_depth=None, gt_depth=None) -> Tensor``; depths are
    B x 1 x H x W metres at any resolution (pooled to each feature map).
    """

    def __init__(
        self,
        student_channels: Sequence[int],
        teacher_channels: Sequence[int],
        scale_weights: Sequence[float] | None = None,
        normalize: bool = True,
        hidden_channels: int = 32,
        temperature: float = 1.0,
        floor: float = 0.2,
        attention_target: str = "auto",
        attention_weight: float = 0.1,
        error_temperature: float = 0.1,
        entropy_weight: float = 0.0,
    ) -> None:
        super().__init__(student_channels, teacher_channels, scale_weights, normalize)
        if attention_target not in ATTENTION_TARGETS:
            raise ValueError(f"attention_target must be one of {ATTENTION_TARGETS}, got {attention_target!r}")
        if not 0.0 <= floor <= 1.0:
            raise ValueError(f"floor must be in [0, 1], got {floor}")
        self.heads = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(ct, hidden_channels, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(hidden_channels, 1, kernel_size=1),
            )
            for ct in teacher_channels
        )
        self.temperature, self.floor = temperature, floor
        self.attention_target, self.attention_weight = attention_target, attention_weight
        self.error_temperature, self.entropy_weight = error_temperature, entropy_weight

    def attention_logits(self, i: int, teacher: Tensor) -> Tensor:
        """B x (h w) log-probabilities ``log a`` of scale ``i``."""
        z = self.heads[i](teacher.detach()).flatten(1)
        return torch.log_softmax(z / self.temperature, dim=1)

    def weights(self, log_a: Tensor, shape: torch.Size) -> Tensor:
        """``w = (1 - floor) * hw * a + floor`` reshaped to B x 1 x h x w."""
        hw = log_a.shape[1]
        w = (1.0 - self.floor) * hw * log_a.exp() + self.floor
        return w.view(shape[0], 1, *shape[-2:])

    def _teacher_error_target(self, teacher_depth: Tensor, gt_depth: Tensor, size: torch.Size) -> Tensor:
        """Target q (B x hw; rows of images without GT are all zero) from pooled teacher log error."""
        valid = valid_depth_mask(gt_depth) & valid_depth_mask(teacher_depth)
        err = torch.where(
            valid,
            (teacher_depth.clamp_min(1e-6).log() - gt_depth.nan_to_num(1.0).clamp_min(1e-6).log()).abs(),
            0.0,
        )
        cnt = F.adaptive_avg_pool2d(valid.float(), size)
        err = F.adaptive_avg_pool2d(err, size) / cnt.clamp_min(1e-6)
        logits = torch.where(cnt > 0, -err / self.error_temperature, float("-inf")).flatten(1)
        has_gt = (cnt.flatten(1) > 0).any(dim=1, keepdim=True)
        q = torch.softmax(torch.where(has_gt, logits, 0.0), dim=1)
        return torch.where(has_gt, q, 0.0)

    def forward(
        self,
        student_feats: Sequence[Tensor],
        teacher_feats: Sequence[Tensor],
        teacher_depth: Tensor | None = None,
        gt_depth: Tensor | None = None,
    ) -> Tensor:
        _check_features(student_feats, teacher_feats, self.n_scales)
        use_gt = (
            teacher_depth is not None and gt_depth is not None and self.attention_target != "imitation_error"
        )
        if self.attention_target == "teacher_error" and not use_gt:
            raise ValueError("attention_target='teacher_error' needs teacher_depth and gt_depth in forward()")
        kd = student_feats[0].new_zeros(())
        att = student_feats[0].new_zeros(())
        for i, (s, t) in enumerate(zip(student_feats, teacher_feats, strict=True)):
            e = self.imitation_error(i, s, t)
            log_a = self.attention_logits(i, t)
            kd = kd + self.scale_weights[i] * (self.weights(log_a.detach(), e.shape) * e).mean()
            if use_gt:
                q = self._teacher_error_target(teacher_depth, gt_depth, e.shape[-2:])
            else:
                flat = e.detach().flatten(1)
                q = flat / flat.sum(dim=1, keepdim=True).clamp_min(1e-12)
            att = att - (q * log_a).sum(dim=1).mean()
            if self.entropy_weight > 0:
                entropy = -(log_a.exp() * log_a).sum(dim=1).mean()
                att = att + self.entropy_weight * (math.log(log_a.shape[1]) - entropy)
        total = kd + self.attention_weight * att
        self.last_terms = {"kd": float(kd.detach()), "attention": float(att.detach())}
        return total


class OutputKDLoss(nn.Module):
    """Output-level KD on teacher pseudo-depth (Hu et al. 2105.06143): SILog(student, teacher).

    ``forward(student_depth, teacher_depth, teacher_uncertainty=None, mask=None)``. With
    ``confidence_quantile = q < 1`` and an uncertainty map, only the pixels whose teacher uncertainty
    is at or below the per-image ``q`` quantile are used (the teacher's least reliable pixels are
    dropped). ``variance_focus`` / ``scale`` as in ``silog_loss``.
    """

    def __init__(
        self, variance_focus: float = 0.85, scale: float = 10.0, confidence_quantile: float = 1.0
    ) -> None:
        super().__init__()
        if not 0.0 < confidence_quantile <= 1.0:
            raise ValueError(f"confidence_quantile must be in (0, 1], got {confidence_quantile}")
        self.variance_focus, self.scale, self.confidence_quantile = variance_focus, scale, confidence_quantile

    def forward(
        self,
        student_depth: Tensor,
        teacher_depth: Tensor,
        teacher_uncertainty: Tensor | None = None,
        mask: Tensor | None = None,
    ) -> Tensor:
        teacher_depth = teacher_depth.detach()
        keep = torch.ones_like(teacher_depth, dtype=torch.bool) if mask is None else mask.bool()
        if teacher_uncertainty is not None and self.confidence_quantile < 1.0:
            u = teacher_uncertainty.detach().flatten(1)
            thresh = torch.quantile(u, self.confidence_quantile, dim=1).view(
                -1, *([1] * (teacher_depth.dim() - 1))
            )
            keep = keep & (teacher_uncertainty.detach() <= thresh)
        return silog_loss(student_depth, teacher_depth, keep, self.variance_focus, self.scale)
