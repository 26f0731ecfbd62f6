"""``disdepth acclimate``: DisDepth feature acclimation via the ghost decoder (Zheng et al. 2024, Sec. 3.3).

The trained student's decoder + bins head are copied and frozen behind the teacher encoder with a
feature acclimation module (FAM) in between (:class:`~disdepth_core.models.GhostDecoder`). Only FAM
trains (plus the teacher encoder when ``acclimate.freeze_teacher_encoder`` is false), with the
supervised depth objective on the ghost output: the teacher's features are pulled into the space the
student's decoder understands while the ghost output stays accurate. The ghost decoder itself never
changes (no gradients, BatchNorm in eval mode). Choice where the paper is silent: the loss is the same
SILog + bins objective as supervised training, with the student's depth range (the ghost head's) and
its depth convention (canonical focal length); the batches are normalised for the teacher encoder.

Label-free acclimation (``acclimate.target: teacher``; our extension, the paper acclimates on labelled
data): the ghost output learns to reproduce the *teacher's own metric depth* of the same image. The
acclimated features then carry exactly what the teacher knows, in the student decoder's language, and
no ground truth is needed; a relative teacher needs its metric scale for this target, and the teacher
encoder must stay frozen (a fine-tuned encoder would move its own target). ``disdepth distill-bag``
gets the same target from its cached pseudo-labels (the teacher's metric depth of those frames).
The artifact is an acclimated-teacher checkpoint (:mod:`disdepth_core.train.acclimated`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from disdepth_core.models import DepthModel, GhostDecoder
from disdepth_core.models.teachers.spec import TeacherSpec

from ..acclimated import save_acclimated
from ..config import LossConfig
from ..module import TrainingModule
from ..objective import DepthObjective


class AcclimateStage(TrainingModule):
    """Trains FAM (optionally also the teacher encoder) of the ghost decoder of ``teacher`` + ``student``."""

    stage = "acclimate"

    def __init__(
        self,
        teacher: nn.Module,
        student: DepthModel,
        loss: LossConfig,
        freeze_teacher_encoder: bool = True,
        target: str = "ground_truth",
        teacher_spec: TeacherSpec | None = None,
    ) -> None:
        super().__init__()
        if target == "teacher" and not freeze_teacher_encoder:
            raise ValueError("acclimate.target=teacher needs a frozen teacher encoder (it is the target)")
        self.depth_range = (student.min_depth, student.max_depth)
        self.input_norm = teacher.input_norm
        self.canonical_focal_px = student.canonical_focal_px
        self.student_name = student.name
        self.student_config = dict(student.config)
        self.target = target
        self.teacher_spec = teacher_spec
        self.ghost = GhostDecoder(teacher, student, freeze_teacher_encoder=freeze_teacher_encoder)
        if not freeze_teacher_encoder:
            # Only the encoder is fine-tuned; the teacher's own decoder/head are not on the ghost path.
            for module in teacher_head_modules(teacher):
                module.requires_grad_(False)
        self.objective = DepthObjective(loss, student.min_depth, student.max_depth)

    def forward(self, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        image = batch["image"]
        prediction, _ = self.ghost(image)
        if self.target == "teacher":
            with torch.no_grad():
                target = self.ghost.teacher(image).depth
            # the teacher's convention (metric, or depth at its own canonical focal) -> the student's
            target = self.to_student_depth(target, batch.get("fx_in"), self.ghost.teacher.canonical_focal_px)
            return self.objective(prediction, target)
        return self.objective(prediction, batch["depth"])

    def predict(self, image: Tensor) -> Tensor:
        return self.ghost(image)[0].depth

    def save_artifact(self, path: str | os.PathLike[str], metadata: Mapping[str, Any]) -> Path:
        return save_acclimated(
            path, self.ghost, self.student_name, self.student_config, metadata, self.teacher_spec
        )


def teacher_head_modules(teacher: nn.Module) -> list[nn.Module]:
    """The teacher's parts that turn features into depth (not on the ghost path; frozen when fine-tuning)."""
    if isinstance(teacher, DepthModel):
        return [teacher.decoder, teacher.head]
    return list(teacher.head_modules())
