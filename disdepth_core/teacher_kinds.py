"""Names shared by the teacher code and the command line, importable without torch (fast ``--help``).

Teacher kinds follow the ``register_backend`` pattern (``runtime.backends.registry``): a kind names how a
``--teacher`` spec selects it (a ``NAME:PATH`` prefix, file suffixes, a directory's marker file) and
where its loader lives (``module:attribute``, imported only when a spec of that kind is resolved or
opened), so the command line lists the kinds without importing torch. A new kind is one module with a
loader (``models.teachers.spec.TeacherLoader``) plus one ``register_teacher_kind`` line below; the help
texts and error lists come from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from disdepth_core.lazy_reference import resolve

__all__ = [
    "OUTPUT_KINDS",
    "TeacherKind",
    "check_output_kind",
    "register_teacher_kind",
    "spec_help",
    "teacher_kind",
    "teacher_kinds",
]

OUTPUT_KINDS = ("metric_depth", "relative_depth", "relative_inverse_depth")


def check_output_kind(kind: str, source: str = "teacher output") -> str:
    """``kind`` if it is one of :data:`OUTPUT_KINDS`; ValueError naming ``source`` otherwise."""
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"{source} must be one of {', '.join(OUTPUT_KINDS)}, got {kind!r}")
    return kind


@dataclass(frozen=True)
class TeacherKind:
    """One kind of teacher spec (``TeacherSpec.kind``).

    ``summary`` is its entry in the ``--teacher`` help (empty: a variant of a kind listed before it, not
    listed on its own); ``prefix``: ``NAME:PATH`` selects it; a bare path is this kind when it is a file
    with one of ``suffixes`` or a directory holding ``marker`` (and the loader claims it); ``has_features``:
    it exposes encoder features (feature KD, ghost decoder).
    """

    name: str
    summary: str
    loader: str
    suffixes: tuple[str, ...] = ()
    marker: str = ""
    prefix: bool = False
    has_features: bool = True

    def load(self) -> Any:
        """Import the loader (``models.teachers.spec.TeacherLoader``) of this kind."""
        return resolve(self.loader)


_KINDS: dict[str, TeacherKind] = {}


def register_teacher_kind(kind: TeacherKind) -> TeacherKind:
    """Add ``kind``; a name registered twice is a programming error."""
    if kind.name in _KINDS:
        raise ValueError(f"teacher kind {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def teacher_kinds() -> tuple[TeacherKind, ...]:
    """Registered kinds, in registration order (the order a bare path is tried in)."""
    return tuple(_KINDS.values())


def teacher_kind(name: str) -> TeacherKind:
    """The kind called ``name``; ValueError listing the registered ones otherwise."""
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"unknown teacher kind {name!r}; registered: {', '.join(_KINDS)}") from None


def spec_help() -> str:
    """What ``--teacher`` takes, one entry per listed kind: "A, B or C"."""
    entries = [kind.summary for kind in _KINDS.values() if kind.summary]
    return entries[0] if len(entries) == 1 else f"{', '.join(entries[:-1])} or {entries[-1]}"


_TEACHERS = "disdepth_core.models.teachers"
register_teacher_kind(
    TeacherKind(
        "acclimated",
        "",  # a .safetensors checkpoint whose header says it is acclimated (`disdepth acclimate`)
        f"{_TEACHERS}.checkpoint_teacher:ACCLIMATED",
        suffixes=(".safetensors",),
    )
)
register_teacher_kind(
    TeacherKind(
        "checkpoint",
        "a disdepth checkpoint (.safetensors)",
        f"{_TEACHERS}.checkpoint_teacher:CHECKPOINT",
        suffixes=(".safetensors",),
    )
)
register_teacher_kind(
    TeacherKind(
        "hf",
        "a Hugging Face model directory (hf:DIR, with config.json)",
        f"{_TEACHERS}.hf_teacher:HF_LOADER",
        marker="config.json",
        prefix=True,
    )
)
register_teacher_kind(
    TeacherKind(
        "onnx",
        "an ONNX depth model (onnx:FILE, with FILE.teacher.json beside it)",
        f"{_TEACHERS}.onnx_teacher:ONNX_LOADER",
        suffixes=(".onnx",),
        prefix=True,
        has_features=False,
    )
)
