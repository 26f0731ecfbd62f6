"""Acclimated-teacher checkpoints: teacher + FAM + ghost decoder in one safetensors file (DisDepth Sec. 3.3).

The acclimate stage produces a :class:`~disdepth_core.models.GhostDecoder`, which is not a
:class:`~disdepth_core.models.DepthModel`, so it gets its own header key (``disdepth_acclimated``)
naming the teacher and the student whose decoder + head the ghost copies (name and config each), and
whether the teacher encoder was frozen. The weights are ``GhostDecoder.state_dict()`` (``teacher.*``,
``fam.*``, ``decoder.*``, ``head.*``). A ``.json`` sidecar mirrors the header. Nothing is pickled.

:func:`load_teacher` opens either kind of teacher checkpoint for the distill stage: an acclimated one
(ghost available) or a plain teacher saved by ``save_model`` (ghost-free ablation).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from disdepth_core.files import atomic_write, atomic_write_text
from disdepth_core.models import DepthModel, GhostDecoder, build_model
from disdepth_core.models.checkpoint import HEADER_KEY, load_model, read_safetensors_metadata

ACCLIMATED_KEY = "disdepth_acclimated"
FORMAT_VERSION = 1


def save_acclimated(
    path: str | os.PathLike[str],
    ghost: GhostDecoder,
    student_name: str,
    student_config: Mapping[str, Any],
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``ghost`` (teacher + FAM + ghost decoder) and its JSON sidecar atomically."""
    path = Path(path)
    teacher = ghost.teacher
    if not isinstance(teacher, DepthModel):
        raise ValueError(
            f"save_acclimated({path}): only registered teachers (DepthModel) can be saved, got "
            f"{type(teacher).__name__}"
        )
    header = {
        "format_version": FORMAT_VERSION,
        "teacher": {"model": teacher.name, "config": teacher.config},
        "student": {"model": student_name, "config": dict(student_config)},
        "freeze_teacher_encoder": bool(ghost.freeze_teacher_encoder),
        "metadata": dict(metadata or {}),
    }
    header_json = json.dumps(header, sort_keys=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in ghost.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={ACCLIMATED_KEY: header_json}))
    sidecar = json.dumps(header, indent=2, sort_keys=True) + "\n"
    atomic_write_text(path.with_suffix(".json"), sidecar)
    return path


def is_acclimated(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds an acclimated teacher (as opposed to a plain model checkpoint)."""
    return ACCLIMATED_KEY in read_safetensors_metadata(path)


def load_acclimated(
    path: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> tuple[GhostDecoder, dict[str, Any]]:
    """Rebuild the ghost decoder from the header and load its weights (strict): ``(ghost.eval(), header)``."""
    path = Path(path)
    raw = read_safetensors_metadata(path).get(ACCLIMATED_KEY)
    if raw is None:
        raise ValueError(f"{path}: not an acclimated teacher (run `disdepth acclimate` to make one)")
    header = json.loads(raw)
    try:
        teacher = build_model(header["teacher"]["model"], **header["teacher"]["config"])
        student = build_model(header["student"]["model"], **header["student"]["config"])
    except (KeyError, ValueError) as error:
        raise ValueError(f"{path}: cannot rebuild the acclimated teacher from its header: {error}") from None
    ghost = GhostDecoder(teacher, student, freeze_teacher_encoder=header["freeze_teacher_encoder"])
    with safe_open(str(path), framework="pt", device=str(device)) as handle:
        state = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open API)
    try:
        ghost.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(
            f"{path}: weights do not match the acclimated teacher in its header: {error}"
        ) from None
    return ghost.to(device).eval(), header


@dataclass
class TeacherBundle:
    """A teacher for distillation: the raw teacher model, plus the ghost decoder when acclimated."""

    teacher: DepthModel
    ghost: GhostDecoder | None
    path: Path


def load_teacher(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> TeacherBundle:
    """Open an acclimated teacher or a plain teacher checkpoint (see the module docstring)."""
    path = Path(path)
    header = read_safetensors_metadata(path)
    if ACCLIMATED_KEY in header:
        ghost, _ = load_acclimated(path, device)
        return TeacherBundle(ghost.teacher, ghost, path)
    if HEADER_KEY in header:
        teacher, _ = load_model(path, device)
        return TeacherBundle(teacher, None, path)
    raise ValueError(f"{path}: neither a disdepth model checkpoint nor an acclimated teacher")
