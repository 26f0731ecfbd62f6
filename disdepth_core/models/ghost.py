"""Ghost decoder and feature acclimation module (DisDepth, Zheng et al. 2024, Sec. 3.3).

The teacher's encoder features go through a :class:`FeatureAcclimation` module (FAM) into a frozen
copy of the *student's* decoder + bins head (the "ghost decoder"). Training teacher encoder (optionally)
and FAM to predict depth through that fixed decoder makes the acclimated teacher features
student-friendly: they live in the space the student's decoder understands, so the student can imitate
them (attentive KD loss, ``disdepth_core.losses``).

FAM choices (the paper gives no formula): one adapter per student scale, 1x1 conv -> BN -> GELU -> 3x3
conv, fed by the teacher scale with the same stride, or else the nearest finer one (else the finest),
then bilinearly resampled to the student's spatial size (input size // stride). A student scale at
stride 2 with a teacher whose finest stride is 4 is therefore *upsampled* from stride 4.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .layers import resize_to
from .prediction import DepthPrediction


def _source_scale(teacher_strides: Sequence[int], stride: int) -> int:
    """Teacher scale feeding a student scale at ``stride``: equal, else nearest finer, else the finest."""
    finer = [i for i, s in enumerate(teacher_strides) if s <= stride]
    if finer:
        return max(finer, key=lambda i: teacher_strides[i])
    return min(range(len(teacher_strides)), key=lambda i: teacher_strides[i])


class FeatureAcclimation(nn.Module):
    """Per-scale adapters from teacher features (channels, strides) to the student's (channels, strides)."""

    def __init__(
        self,
        teacher_channels: Sequence[int],
        teacher_strides: Sequence[int],
        student_channels: Sequence[int],
        student_strides: Sequence[int],
    ) -> None:
        super().__init__()
        self.student_strides = tuple(student_strides)
        self.sources = tuple(_source_scale(teacher_strides, s) for s in student_strides)
        self.adapters = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(teacher_channels[src], out, 1, bias=False),
                nn.BatchNorm2d(out),
                nn.GELU(),
                nn.Conv2d(out, out, 3, padding=1),
            )
            for src, out in zip(self.sources, student_channels, strict=True)
        )

    def forward(self, teacher_features: Sequence[Tensor], input_hw: Sequence[int]) -> list[Tensor]:
        h, w = int(input_hw[0]), int(input_hw[1])
        return [
            resize_to(adapter(teacher_features[src]), (h // stride, w // stride))
            for adapter, src, stride in zip(self.adapters, self.sources, self.student_strides, strict=True)
        ]


class GhostDecoder(nn.Module):
    """Teacher encoder -> FAM -> frozen copy of the student's decoder + head.

    ``teacher`` needs ``encode``, ``feature_channels`` and ``feature_strides`` (a registered teacher or a
    :class:`~disdepth_core.models.teachers.hf_teacher.HFDepthTeacher`); ``student`` is a :class:`DepthModel`.
    Its depth follows the student's convention: ``canonical_focal_px`` is the student's.
    The copied decoder + head never require gradients and stay in eval mode (BN statistics fixed) even
    after ``.train()``; with ``freeze_teacher_encoder`` the teacher is frozen the same way and only FAM
    trains.
    """

    canonical_focal_px: float

    def __init__(self, teacher: nn.Module, student: nn.Module, freeze_teacher_encoder: bool = True) -> None:
        super().__init__()
        self.teacher = teacher
        self.freeze_teacher_encoder = freeze_teacher_encoder
        self.fam = FeatureAcclimation(
            teacher.feature_channels,
            teacher.feature_strides,
            student.feature_channels,
            student.feature_strides,
        )
        self.canonical_focal_px = student.canonical_focal_px  # the convention of the copied student head
        self.decoder = copy.deepcopy(student.decoder)
        self.head = copy.deepcopy(student.head)
        frozen = [self.decoder, self.head] + ([self.teacher] if freeze_teacher_encoder else [])
        for module in frozen:
            module.requires_grad_(False)
        self.train(self.training)

    def train(self, mode: bool = True) -> GhostDecoder:
        super().train(mode)
        self.decoder.eval()
        self.head.eval()
        if self.freeze_teacher_encoder:
            self.teacher.eval()
        return self

    def forward(self, x: Tensor) -> tuple[DepthPrediction, list[Tensor]]:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_teacher_encoder):
            teacher_features = self.teacher.encode(x)
        acclimated = self.fam(teacher_features, x.shape[-2:])
        return self.head(self.decoder(acclimated), x.shape[-2:]), acclimated
