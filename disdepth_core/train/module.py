"""The interface between the generic :class:`~disdepth_core.train.trainer.Trainer` and a stage.

A stage (supervised, acclimate, distill) is an ``nn.Module`` holding everything it trains *and* the
frozen parts it needs (teacher, ghost decoder). The trainer wraps it in DDP, calls ``forward(batch)``
to get the loss, steps the optimizer over ``trainable_parameters()``, validates ``predict`` and asks
the stage to write its deployable checkpoint with ``save_artifact``. The whole ``state_dict()`` goes
into the resume state, so resuming never depends on the artifact format.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from disdepth_core.geometry import focal_depth_scale
from disdepth_core.models.normalization import IMAGENET_NORM, InputNorm


class TrainingModule(nn.Module, ABC):
    """Base class of the stages; see the module docstring for the contract."""

    stage: str = ""
    #: ``(min_depth, max_depth)`` of the model being produced; validation uses its maximum.
    depth_range: tuple[float, float] = (1e-3, 10.0)
    #: ``state_dict`` prefixes of frozen parts loaded from checkpoints (left out of the resume state).
    frozen_prefixes: tuple[str, ...] = ()
    #: Normalisation of the batches this stage is fed (its product's input).
    input_norm: InputNorm = IMAGENET_NORM
    #: Canonical focal length of the depth it learns (``disdepth_core.data.focal_augment``); 0 = metric.
    canonical_focal_px: float = 0.0

    def to_student_depth(self, depth: Tensor, fx_in: Tensor | None, source_focal: float) -> Tensor:
        """``B x 1 x H x W`` depth predicted for ``source_focal`` (a teacher's; 0 = metric) -> the
        convention of the model this stage trains, image by image with its ``fx_in`` (None: unknown)."""
        if source_focal == self.canonical_focal_px:
            return depth
        fx = [0.0] * depth.shape[0] if fx_in is None else [float(f) for f in fx_in]
        scale = [focal_depth_scale(f, source_focal, self.canonical_focal_px) for f in fx]
        return depth * torch.tensor(scale, dtype=depth.dtype, device=depth.device).view(-1, 1, 1, 1)

    def resume_state(self) -> dict[str, Tensor]:
        """``state_dict()`` without the frozen parts."""
        return {
            k: v for k, v in self.state_dict().items() if not k.startswith(self.frozen_prefixes or ("\0",))
        }

    def load_resume_state(self, state: Mapping[str, Tensor]) -> None:
        """Load :meth:`resume_state`; every non-frozen key must match (strict otherwise)."""
        result = self.load_state_dict(dict(state), strict=False)
        missing = [k for k in result.missing_keys if not k.startswith(self.frozen_prefixes or ("\0",))]
        if missing or result.unexpected_keys:
            raise RuntimeError(f"missing keys {missing[:5]}, unexpected keys {result.unexpected_keys[:5]}")

    @abstractmethod
    def forward(self, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        """Total loss (scalar) and its named, detached parts for logging."""

    @abstractmethod
    def predict(self, image: Tensor) -> Tensor:
        """Metric depth ``B x 1 x H x W`` of the model this stage produces (for validation)."""

    @abstractmethod
    def save_artifact(self, path: str | os.PathLike[str], metadata: Mapping[str, Any]) -> Path:
        """Write the stage's deployable checkpoint (``.safetensors`` + ``.json`` sidecar) to ``path``."""

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Parameters the optimizer updates (default: every parameter that requires grad)."""
        return [p for p in self.parameters() if p.requires_grad]

    def encoder_parameters(self) -> list[nn.Parameter]:
        """The trained model's backbone parameters (they get ``optim.encoder_lr_scale`` x the peak
        learning rate); empty for stages that train no backbone."""
        return []

    def parameter_groups(self, lr: float, encoder_lr_scale: float) -> list[dict[str, Any]]:
        """Optimizer groups: the backbone at ``lr * encoder_lr_scale``, everything else at ``lr``.

        A pretrained (ImageNet) encoder fine-tuned at the decoder's rate forgets the features that make
        it generalise to real images; AdaBins/BTS train the encoder at a tenth of the rate.
        """
        trainable = self.trainable_parameters()
        encoder = {id(p) for p in self.encoder_parameters()}
        groups = [
            {"params": [p for p in trainable if id(p) in encoder], "lr": lr * encoder_lr_scale},
            {"params": [p for p in trainable if id(p) not in encoder], "lr": lr},
        ]
        return [group for group in groups if group["params"]]
