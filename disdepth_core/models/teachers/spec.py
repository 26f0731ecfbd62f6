"""Teacher specs: the one way every command names a teacher (``--teacher SPEC``).

A spec is one of

- a disdepth checkpoint (``.safetensors``: a trained model, or an acclimated teacher from
  ``disdepth acclimate``);
- a local Hugging Face depth model directory: ``hf:DIR``, or any directory holding ``config.json``
  (Depth Anything V2 metric/relative, DPT, GLPN, ZoeDepth; :mod:`disdepth_core.models.teachers.hf_teacher`);
- an ONNX depth model: ``onnx:FILE`` or a ``.onnx`` path, with a teacher card beside it
  (:mod:`disdepth_core.models.teachers.onnx_teacher`); output KD only, it exposes no features.

:func:`parse_teacher_spec` resolves the kind without loading anything; :func:`open_teacher` loads it;
:func:`teacher_licence` and :func:`teacher_digest` give what model cards and pseudo-label caches record.
Nothing is downloaded (``disdepth teacher pull`` is the explicit way to fetch a checkpoint).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from disdepth_core.files import sha256_file
from disdepth_core.teacher_kinds import SPEC_HELP

from .output import MetricScale

TEACHER_KINDS = ("checkpoint", "acclimated", "hf", "onnx")
PULL_RECORD = "disdepth_teacher.json"


@dataclass(frozen=True)
class TeacherSpec:
    """A resolved spec: its kind, the file or directory, and the text the user gave."""

    kind: str
    path: Path
    text: str

    @property
    def has_features(self) -> bool:
        """Whether the teacher exposes encoder features (feature KD, ghost decoder); ONNX teachers do not."""
        return self.kind != "onnx"

    def __str__(self) -> str:
        return self.text


def parse_teacher_spec(text: str | os.PathLike[str]) -> TeacherSpec:
    """Resolve ``text`` (see the module docstring); FileNotFoundError/ValueError say what was expected."""
    text = str(text)
    if not text:
        raise ValueError(f"no teacher given: pass --teacher with {SPEC_HELP}")
    prefix, _, rest = text.partition(":")
    if prefix in ("hf", "onnx") and rest:
        path = Path(rest).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"teacher {text}: {path} does not exist")
        if prefix == "hf" and not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"teacher {text}: {path} has no config.json (a save_pretrained() directory)"
            )
        if prefix == "onnx" and not path.is_file():
            raise FileNotFoundError(f"teacher {text}: {path} is not a file")
        return TeacherSpec(prefix, path, text)
    path = Path(text).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"teacher {text} does not exist; give {SPEC_HELP}")
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ValueError(f"teacher {text} is a directory without config.json; give {SPEC_HELP}")
        return TeacherSpec("hf", path, text)
    if path.suffix.lower() == ".onnx":
        return TeacherSpec("onnx", path, text)
    if path.suffix.lower() == ".safetensors":
        from ..checkpoint import is_acclimated

        return TeacherSpec("acclimated" if is_acclimated(path) else "checkpoint", path, text)
    raise ValueError(f"teacher {text}: unknown file type {path.suffix!r}; give {SPEC_HELP}")


def open_teacher(
    spec: TeacherSpec,
    *,
    output: str = "auto",
    scale: MetricScale | None = None,
    min_depth: float = 0.1,
    max_depth: float = 10.0,
    device: str = "cpu",
    require_scale: bool = True,
) -> nn.Module:
    """Load the teacher module of ``spec`` (eval mode, on ``device``).

    ``output`` overrides what the model declares (``auto``: its config, card or checkpoint says);
    ``scale`` turns a relative output into metres. With ``require_scale`` a relative teacher without a
    scale is refused (a robot needs metres); the distill-bag recipe opens it without one to cache raw
    outputs before it fits the scale. Any loading failure is a ValueError naming the spec.
    """
    if spec.kind == "acclimated":
        raise ValueError(f"teacher {spec}: an acclimated teacher is opened by the distill stage, not here")
    try:
        teacher = _load(spec, output, scale, min_depth, max_depth, device)
    except (OSError, ValueError, KeyError, RuntimeError, ImportError) as error:
        raise ValueError(f"teacher {spec} cannot be loaded: {error}") from None
    if require_scale and getattr(teacher, "scale", True) is None:
        raise ValueError(
            f"teacher {spec} predicts {teacher.output_kind}: declare a metric scale source "
            "(--teacher-scale fixed:S or fit; distill-bag also takes a depth topic)"
        )
    return teacher.to(device).eval()


def _load(
    spec: TeacherSpec, output: str, scale: MetricScale | None, min_depth: float, max_depth: float, device: str
) -> nn.Module:
    declared = None if output == "auto" else output
    if spec.kind == "checkpoint":
        from ..checkpoint import load_model

        if declared not in (None, "metric_depth"):
            raise ValueError("a disdepth checkpoint predicts metric_depth")
        model, _ = load_model(spec.path, device)
        return model
    if spec.kind == "hf":
        from .hf_teacher import HFDepthTeacher

        record = spec.path / PULL_RECORD
        if declared is None and record.is_file():  # `disdepth teacher pull` knows what DPT predicts
            declared = json.loads(record.read_text(encoding="utf-8")).get("output")
        return HFDepthTeacher.from_pretrained(
            spec.path, output=declared, scale=scale, min_depth=min_depth, max_depth=max_depth
        )
    from .onnx_teacher import ONNXDepthTeacher

    card = read_onnx_card(spec)
    if declared is not None and declared != card.output:
        card = dataclasses.replace(card, output=declared)
    return ONNXDepthTeacher(
        spec.path, card, scale=scale, min_depth=min_depth, max_depth=max_depth, device=device
    )


def output_kind(teacher: nn.Module) -> str:
    """What a loaded teacher predicts (disdepth models: metric depth)."""
    return str(getattr(teacher, "output_kind", "metric_depth"))


def read_onnx_card(spec: TeacherSpec) -> Any:
    """The teacher card of an ONNX spec (from the file beside it, or a disdepth export's metadata)."""
    import onnx

    from disdepth_core.model_files import ModelFileError
    from disdepth_core.model_info import ModelInfo
    from disdepth_core.teacher_card import TeacherCard, card_path

    from .onnx_teacher import card_from_disdepth_metadata

    path = card_path(spec.path)
    if path.is_file():
        return TeacherCard.read(path)
    try:
        proto = onnx.load(str(spec.path), load_external_data=False)
    except Exception as error:  # protobuf's DecodeError (and onnx's own errors) for a damaged file
        raise ValueError(
            f"{spec.path} is not a readable ONNX model ({type(error).__name__}: {error}); "
            "export or download it again"
        ) from None
    try:
        info = ModelInfo.from_props({p.key: p.value for p in proto.metadata_props}, spec.path)
    except ModelFileError:
        return TeacherCard.read(path)  # raises: no card and not a disdepth export
    return card_from_disdepth_metadata(info)


def teacher_licence(spec: TeacherSpec) -> str:
    """The licence a teacher declares: its card, the ``disdepth teacher pull`` record, the model README's
    ``license:`` field, or the checkpoint's metadata; says so when none is recorded."""
    if spec.kind == "onnx":
        return read_onnx_card(spec).licence
    if spec.kind == "hf":
        record = spec.path / PULL_RECORD
        if record.is_file():
            return str(json.loads(record.read_text(encoding="utf-8")).get("licence", ""))
        readme = spec.path / "README.md"
        if readme.is_file():
            found = readme_licence(readme.read_text(encoding="utf-8", errors="replace"))
            if found:
                return found
        return f"not recorded (no README.md license field in {spec.path}); check the model's page"
    from ..checkpoint import checkpoint_metadata

    return str(checkpoint_metadata(spec.path).get("licence", "not recorded in the checkpoint"))


def readme_licence(text: str) -> str:
    """The ``license:`` value of a Hugging Face model card's YAML front matter ("" if there is none)."""
    match = re.match(r"---\s*\n(.*?)\n---", text, re.DOTALL)
    if not match:
        return ""
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "license" and value.strip():
            return value.strip().strip("'\"")
    return ""


def teacher_digest(spec: TeacherSpec, length: int = 16) -> str:
    """A content hash of the teacher's files (weights, config, card): caches keyed by it never go stale."""
    if spec.path.is_dir():
        files = sorted(
            p for p in spec.path.iterdir() if p.is_file() and p.suffix in (".json", ".safetensors", ".bin")
        )
    else:
        files = [spec.path]
        if spec.kind == "onnx":
            from disdepth_core.teacher_card import card_path

            files += [p for p in (card_path(spec.path),) if p.is_file()]
    digest = hashlib.sha256()
    for path in files:
        if path.name != PULL_RECORD:
            digest.update(f"{path.name}:{sha256_file(path)};".encode())
    return digest.hexdigest()[:length]
