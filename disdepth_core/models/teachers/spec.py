"""Teacher specs: the one way every command names a teacher (``--teacher SPEC``).

A spec is one of the kinds registered in :mod:`disdepth_core.teacher_kinds`, each opened by its
module's :class:`TeacherLoader`:

- a disdepth checkpoint (``.safetensors``: a trained model, or an acclimated teacher from
  ``disdepth acclimate``);
- a local Hugging Face depth model directory: ``hf:DIR``, or any directory holding ``config.json``
  (Depth Anything V2 metric/relative, DPT, GLPN, ZoeDepth; :mod:`disdepth_core.models.teachers.hf_teacher`);
- an ONNX depth model: ``onnx:FILE`` or a ``.onnx`` path, with a teacher card beside it
  (:mod:`disdepth_core.models.teachers.onnx_teacher`); output KD only, it exposes no features.

:func:`parse_teacher_spec` resolves the kind without loading the model; :func:`open_teacher` loads it;
:func:`teacher_licence` and :func:`teacher_digest` give what model cards and pseudo-label caches record.
Nothing is downloaded (``disdepth teacher pull`` is the explicit way to fetch a checkpoint).
"""

from __future__ import annotations

import hashlib
import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from disdepth_core.files import sha256_file
from disdepth_core.teacher_kinds import spec_help, teacher_kind, teacher_kinds

from .output import MetricScale

PULL_RECORD = "disdepth_teacher.json"


@dataclass(frozen=True)
class TeacherSpec:
    """A resolved spec: its kind (``teacher_kinds``), the file or directory, and the text the user gave."""

    kind: str
    path: Path
    text: str

    @property
    def has_features(self) -> bool:
        """Whether the teacher exposes encoder features (feature KD, ghost decoder); ONNX teachers do not."""
        return teacher_kind(self.kind).has_features

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class OpenOptions:
    """How to open a teacher: ``declared`` overrides the output kind the model declares (None: its own),
    ``scale`` turns a relative output into metres, clamped to ``min_depth``-``max_depth``."""

    declared: str | None = None
    scale: MetricScale | None = None
    min_depth: float = 0.1
    max_depth: float = 10.0
    device: str = "cpu"


class TeacherLoader(ABC):
    """What a teacher kind's module provides (``teacher_kinds.register_teacher_kind`` names it): ``open``
    and ``licence``; ``claims`` and ``files`` have defaults."""

    def claims(self, path: Path) -> bool:
        """Whether a bare file with the kind's suffix is this kind (e.g. by its header); default yes."""
        return True

    @abstractmethod
    def open(self, spec: TeacherSpec, options: OpenOptions) -> nn.Module:
        """The teacher module of ``spec``."""

    @abstractmethod
    def licence(self, spec: TeacherSpec) -> str:
        """The licence the teacher declares, or a line saying it is not recorded."""

    def files(self, spec: TeacherSpec) -> list[Path]:
        """The files whose content identifies the teacher (:func:`teacher_digest`): a directory's weights
        and configs (.json, .safetensors, .bin), or the file itself."""
        if spec.path.is_dir():
            return sorted(
                p
                for p in spec.path.iterdir()
                if p.is_file() and p.suffix in (".json", ".safetensors", ".bin")
            )
        return [spec.path]


def parse_teacher_spec(text: str | os.PathLike[str]) -> TeacherSpec:
    """Resolve ``text`` (see the module docstring); FileNotFoundError/ValueError say what was expected."""
    text = str(text)
    if not text:
        raise ValueError(f"no teacher given: pass --teacher with {spec_help()}")
    prefix, _, rest = text.partition(":")
    prefixed = {kind.name: kind for kind in teacher_kinds() if kind.prefix}
    if prefix in prefixed and rest:
        kind, path = prefixed[prefix], Path(rest).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"teacher {text}: {path} does not exist")
        if kind.marker and not (path / kind.marker).is_file():
            raise FileNotFoundError(
                f"teacher {text}: {path} has no {kind.marker}; {kind.name}:PATH takes {kind.summary}"
            )
        if not kind.marker and not path.is_file():
            raise FileNotFoundError(f"teacher {text}: {path} is not a file")
        return TeacherSpec(kind.name, path, text)
    path = Path(text).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"teacher {text} does not exist; give {spec_help()}")
    for kind in teacher_kinds():
        if path.is_dir() and kind.marker and (path / kind.marker).is_file():
            return TeacherSpec(kind.name, path, text)
        if path.is_file() and path.suffix.lower() in kind.suffixes and kind.load().claims(path):
            return TeacherSpec(kind.name, path, text)
    if path.is_dir():
        markers = " or ".join(sorted({kind.marker for kind in teacher_kinds() if kind.marker}))
        raise ValueError(f"teacher {text} is a directory without {markers}; give {spec_help()}")
    raise ValueError(f"teacher {text}: unknown file type {path.suffix!r}; give {spec_help()}")


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
    """Load the teacher module of ``spec`` (eval mode, on ``device``) with its kind's loader.

    ``output`` overrides what the model declares (``auto``: its config, card or checkpoint says);
    ``scale`` turns a relative output into metres. With ``require_scale`` a relative teacher without a
    scale is refused (a robot needs metres); the distill-bag recipe opens it without one to cache raw
    outputs before it fits the scale. Any loading failure is a ValueError naming the spec.
    """
    options = OpenOptions(None if output == "auto" else output, scale, min_depth, max_depth, device)
    try:
        teacher = teacher_kind(spec.kind).load().open(spec, options)
    except (OSError, ValueError, KeyError, RuntimeError, ImportError) as error:
        raise ValueError(f"teacher {spec} cannot be loaded: {error}") from None
    if require_scale and getattr(teacher, "scale", True) is None:
        raise ValueError(
            f"teacher {spec} predicts {teacher.output_kind}: declare a metric scale source "
            "(--teacher-scale fixed:S or fit; distill-bag also takes a depth topic)"
        )
    return teacher.to(device).eval()


def output_kind(teacher: nn.Module) -> str:
    """What a loaded teacher predicts (disdepth models: metric depth)."""
    return str(getattr(teacher, "output_kind", "metric_depth"))


def teacher_licence(spec: TeacherSpec) -> str:
    """The licence a teacher declares (its kind's loader says where: a card, a pull record, a model
    card's ``license:`` field, a checkpoint's metadata); says so when none is recorded."""
    return teacher_kind(spec.kind).load().licence(spec)


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
    digest = hashlib.sha256()
    for path in teacher_kind(spec.kind).load().files(spec):
        if path.name != PULL_RECORD:
            digest.update(f"{path.name}:{sha256_file(path)};".encode())
    return digest.hexdigest()[:length]
