"""``disdepth acclimate``: DisDepth feature acclimation via the ghost decoder (Zheng et al. 2024, Sec. 3.3).

The trained student's decoder + bins head are copied and frozen behind the teacher encoder with a
feature acclimation module (FAM) in between (:class:`~disdepth_core.models.GhostDecoder`). Only FAM
trains (plus the teacher encoder when ``acclimate.freeze_teacher_encoder`` is false), with the
supervised depth objective on the ghost output: the teacher's features are pulled into the space the
student's decoder understands while the ghost output stays accurate. The ghost decoder itself never
changes (no gradients, BatchNorm in eval mode). Choice where the paper is silent: the loss is the same
SILog + bins objective as supervised training, with the student's depth range (the ghost head's) and
its depth convention (canonical focal length); the batches are normalised for the teacher encoder.
The artifact is an acclimated-teacher checkpoint (:mod:`disdepth_core.train.acclimated`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import Tensor

from disdepth_core.models import DepthModel, GhostDecoder

from ..acclimated import save_acclimated
from ..config import LossConfig
from ..module import TrainingModule
from ..objective import DepthObjective


class AcclimateStage(TrainingModule):
    """Trains FAM (optionally also the teacher encoder) of the ghost decoder of ``teacher`` + ``student``."""

    stage = "acclimate"

    def __init__(
        self, teacher: DepthModel, student: DepthModel, loss: LossConfig, freeze_teacher_encoder: bool = True
    ) -> None:
        super().__init__()
        self.depth_range = (student.min_depth, student.max_depth)
        self.input_norm = teacher.input_norm
        self.canonical_focal_px = student.canonical_focal_px
        self.student_name = student.name
        self.student_config = dict(student.config)
        self.ghost = GhostDecoder(teacher, student, freeze_teacher_encoder=freeze_teacher_encoder)
        if not freeze_teacher_encoder:
            # Only the encoder is fine-tuned; the teacher's own decoder/head are not on the ghost path.
            teacher.decoder.requires_grad_(False)
            teacher.head.requires_grad_(False)
        self.objective = DepthObjective(loss, student.min_depth, student.max_depth)

    def forward(self, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        prediction, _ = self.ghost(batch["image"])
        return self.objective(prediction, batch["depth"])

    def predict(self, image: Tensor) -> Tensor:
        return self.ghost(image)[0].depth

    def save_artifact(self, path: str | os.PathLike[str], metadata: Mapping[str, Any]) -> Path:
        return save_acclimated(path, self.ghost, self.student_name, self.student_config, metadata)
