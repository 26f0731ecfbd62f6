"""Acclimated-teacher checkpoints: FAM + ghost decoder (+ teacher) in one safetensors file (DisDepth 3.3).

The acclimate stage produces a :class:`~disdepth_core.models.GhostDecoder`, which is not a
:class:`~disdepth_core.models.DepthModel`, so it gets its own header key (``disdepth_acclimated``)
naming the teacher and the student whose decoder + head the ghost copies (name and config each), and
whether the teacher encoder was frozen. A ``.json`` sidecar mirrors the header. Nothing is pickled.

The teacher is stored one of two ways:

- a registered disdepth teacher (:class:`~disdepth_core.models.DepthModel`): by name + config, with its
  weights (``teacher.*``) in the file next to ``fam.*``, ``decoder.*``, ``head.*``;
- a foundation teacher (Hugging Face directory): by its *spec* (resolved path, output kind, metric
  scale, content digest), because its weights are large, licensed separately and already on disk. Only
  FAM + ghost decoder + head are stored, unless the teacher encoder was fine-tuned (then ``teacher.*``
  too, applied over the files the spec names). Loading re-opens the spec and refuses a directory whose
  files changed since acclimation (digest mismatch).

:func:`load_teacher` opens any teacher for the distill stage: an acclimated checkpoint (ghost
available), a plain disdepth checkpoint, or a foundation-teacher spec (ghost-free;
:mod:`disdepth_core.models.teachers.spec`).
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
from disdepth_core.models.checkpoint import (
    ACCLIMATED_KEY,
    HEADER_KEY,
    load_model,
    read_safetensors_metadata,
)
from disdepth_core.models.teachers.output import MetricScale
from disdepth_core.models.teachers.spec import (
    TeacherSpec,
    open_teacher,
    output_kind,
    parse_teacher_spec,
    teacher_digest,
)

FORMAT_VERSION = 1


def save_acclimated(
    path: str | os.PathLike[str],
    ghost: GhostDecoder,
    student_name: str,
    student_config: Mapping[str, Any],
    metadata: Mapping[str, Any] | None = None,
    teacher_spec: TeacherSpec | None = None,
) -> Path:
    """Write ``ghost`` and its JSON sidecar atomically; a teacher that is not a registered DepthModel is
    recorded by ``teacher_spec`` (see the module docstring)."""
    path = Path(path)
    teacher = ghost.teacher
    state = ghost.state_dict()
    if isinstance(teacher, DepthModel):
        teacher_header: dict[str, Any] = {"model": teacher.name, "config": teacher.config}
    elif teacher_spec is not None:
        scale = getattr(teacher, "scale", None)
        teacher_header = {
            "spec": str(teacher_spec.path.resolve()),
            "kind": teacher_spec.kind,
            "output": output_kind(teacher),
            "scale": scale.to_dict() if scale is not None else None,
            "digest": teacher_digest(teacher_spec),
            "weights_stored": not ghost.freeze_teacher_encoder,
        }
        if ghost.freeze_teacher_encoder:
            state = {k: v for k, v in state.items() if not k.startswith("teacher.")}
    else:
        raise ValueError(
            f"save_acclimated({path}): a {type(teacher).__name__} teacher needs its teacher_spec to be saved"
        )
    header = {
        "format_version": FORMAT_VERSION,
        "teacher": teacher_header,
        "student": {"model": student_name, "config": dict(student_config)},
        "freeze_teacher_encoder": bool(ghost.freeze_teacher_encoder),
        "metadata": dict(metadata or {}),
    }
    header_json = json.dumps(header, sort_keys=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={ACCLIMATED_KEY: header_json}))
    sidecar = json.dumps(header, indent=2, sort_keys=True) + "\n"
    atomic_write_text(path.with_suffix(".json"), sidecar)
    return path


def _spec_teacher(
    path: Path, entry: Mapping[str, Any], scale: MetricScale | None, student: DepthModel
) -> Any:
    """Re-open the foundation teacher an acclimated checkpoint names; refuse changed files."""
    spec = parse_teacher_spec(f"{entry['kind']}:{entry['spec']}")
    if teacher_digest(spec) != entry["digest"]:
        raise ValueError(
            f"{path}: the teacher files in {entry['spec']} changed since acclimation (content digest "
            f"differs); acclimate again with this teacher"
        )
    stored = MetricScale.from_dict(entry["scale"]) if entry.get("scale") else None
    return open_teacher(
        spec,
        output=entry["output"],
        scale=scale or stored,
        min_depth=student.min_depth,
        max_depth=student.max_depth,
        require_scale=False,
    )


def load_acclimated(
    path: str | os.PathLike[str], device: str | torch.device = "cpu", scale: MetricScale | None = None
) -> tuple[GhostDecoder, dict[str, Any]]:
    """Rebuild the ghost decoder from the header and load its weights: ``(ghost.eval(), header)``.

    ``scale`` replaces the metric scale recorded for a relative foundation teacher.
    """
    path = Path(path)
    raw = read_safetensors_metadata(path).get(ACCLIMATED_KEY)
    if raw is None:
        raise ValueError(f"{path}: not an acclimated teacher (run `disdepth acclimate` to make one)")
    header = json.loads(raw)
    entry = header["teacher"]
    try:
        student = build_model(header["student"]["model"], **header["student"]["config"])
        if "spec" in entry:
            teacher = _spec_teacher(path, entry, scale, student)
        else:
            teacher = build_model(entry["model"], **entry["config"])
    except (KeyError, ValueError, FileNotFoundError) as error:
        raise ValueError(f"{path}: cannot rebuild the acclimated teacher from its header: {error}") from None
    ghost = GhostDecoder(teacher, student, freeze_teacher_encoder=header["freeze_teacher_encoder"])
    with safe_open(str(path), framework="pt", device=str(device)) as handle:
        state = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open API)
    teacher_in_file = "spec" not in entry or entry.get("weights_stored", False)
    result = ghost.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if teacher_in_file or not k.startswith("teacher.")]
    if missing or result.unexpected_keys:
        raise ValueError(
            f"{path}: weights do not match the acclimated teacher in its header: missing {missing[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}"
        )
    return ghost.to(device).eval(), header


@dataclass
class TeacherBundle:
    """A teacher for distillation: the teacher model, the ghost decoder when acclimated, and its spec."""

    teacher: Any
    ghost: GhostDecoder | None
    spec: TeacherSpec


def load_teacher(
    spec: str | os.PathLike[str] | TeacherSpec,
    device: str | torch.device = "cpu",
    *,
    output: str = "auto",
    scale: MetricScale | None = None,
    depth_range: tuple[float, float] = (0.1, 10.0),
    require_scale: bool = True,
) -> TeacherBundle:
    """Open an acclimated teacher, a plain teacher checkpoint or a foundation-teacher spec (module doc).

    ``output``/``scale`` apply to foundation teachers; ``depth_range`` bounds their metric output;
    ``require_scale`` refuses a relative foundation teacher without a scale.
    """
    spec = spec if isinstance(spec, TeacherSpec) else parse_teacher_spec(spec)
    if spec.kind == "acclimated":
        ghost, _ = load_acclimated(spec.path, device, scale)
        return TeacherBundle(ghost.teacher, ghost, spec)
    if spec.kind == "checkpoint" and HEADER_KEY in read_safetensors_metadata(spec.path):
        teacher, _ = load_model(spec.path, device)
        return TeacherBundle(teacher, None, spec)
    if spec.kind == "checkpoint":
        raise ValueError(f"{spec.path}: neither a disdepth model checkpoint nor an acclimated teacher")
    teacher = open_teacher(
        spec,
        output=output,
        scale=scale,
        min_depth=depth_range[0],
        max_depth=depth_range[1],
        device=str(device),
        require_scale=require_scale,
    )
    return TeacherBundle(teacher, None, spec)
