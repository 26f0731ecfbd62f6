"""disdepth checkpoints as teachers: a trained model (kind ``checkpoint``) and an acclimated teacher
(kind ``acclimated``, from ``disdepth acclimate``; the distill stage opens it with its ghost decoder,
``train.acclimated``). Both are ``.safetensors`` files; the header says which (``checkpoint.is_acclimated``).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from ..checkpoint import checkpoint_metadata, is_acclimated, load_model
from .spec import OpenOptions, TeacherLoader, TeacherSpec


class CheckpointLoader(TeacherLoader):
    """A trained disdepth model: metric depth, encoder features."""

    def claims(self, path: Path) -> bool:
        return not is_acclimated(path)

    def open(self, spec: TeacherSpec, options: OpenOptions) -> nn.Module:
        if options.declared not in (None, "metric_depth"):
            raise ValueError("a disdepth checkpoint predicts metric_depth")
        model, _ = load_model(spec.path, options.device)
        return model

    def licence(self, spec: TeacherSpec) -> str:
        return str(checkpoint_metadata(spec.path).get("licence", "not recorded in the checkpoint"))


class AcclimatedLoader(CheckpointLoader):
    """An acclimated teacher: recognised here, opened by the distill stage."""

    def claims(self, path: Path) -> bool:
        return is_acclimated(path)

    def open(self, spec: TeacherSpec, options: OpenOptions) -> nn.Module:
        raise ValueError("an acclimated teacher is opened by the distill stage, not here")


CHECKPOINT = CheckpointLoader()
ACCLIMATED = AcclimatedLoader()
