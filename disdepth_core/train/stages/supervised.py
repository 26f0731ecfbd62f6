"""``disdepth train``: supervised training of a student or teacher on ground-truth depth.

Loss: :class:`~disdepth_core.train.objective.DepthObjective` (SILog + chamfer bin loss, optional gradient
loss) on the model's prediction (DisDepth Sec. 3.1 / AdaBins). The artifact is the model itself
(``disdepth_core.models.checkpoint.save_model``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from disdepth_core.models import DepthModel
from disdepth_core.models.checkpoint import save_model

from ..config import LossConfig
from ..module import TrainingModule
from ..objective import DepthObjective


class SupervisedStage(TrainingModule):
    """Trains every parameter of ``model`` on ground truth."""

    stage = "train"

    def __init__(self, model: DepthModel, loss: LossConfig) -> None:
        super().__init__()
        self.depth_range = (model.min_depth, model.max_depth)
        self.input_norm = model.input_norm
        self.canonical_focal_px = model.canonical_focal_px
        self.model = model
        self.objective = DepthObjective(loss, model.min_depth, model.max_depth)

    def forward(self, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        return self.objective(self.model(batch["image"]), batch["depth"])

    def predict(self, image: Tensor) -> Tensor:
        return self.model(image).depth

    def save_artifact(self, path: str | os.PathLike[str], metadata: Mapping[str, Any]) -> Path:
        return save_model(path, self.model, metadata)

    def encoder_parameters(self) -> list[nn.Parameter]:
        return list(self.model.encoder.parameters())
