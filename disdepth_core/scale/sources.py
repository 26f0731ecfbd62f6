"""Scale sources: what turns a depth model's output into metres on this robot, one registry.

A source looks at one frame's model depth (metres as the model predicts them, NaN invalid) and what
the robot knows at that frame (:class:`FrameContext`: intrinsics, the camera mount, a new sparse depth
image, a new range reading) and returns a :class:`ScaleObservation`: the factor that makes the depth
metric, how sure it is, how many points support it, and in words why (or why it cannot decide).
Smoothing over time, holding and falling back are shared (:mod:`disdepth_core.scale.tracker`), never a
source's job. A new source is one module with a class decorated by :func:`register_scale_source`.

Spec strings (node parameter ``scale_source``, ``--scale-source`` of the commands): a registered name,
optionally ``name:argument`` (``fixed:2.5``), or ``auto`` (:data:`AUTO_ORDER`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from disdepth_core.geometry import CameraIntrinsics
from disdepth_core.scale.mount import CameraMount

__all__ = [
    "AUTO",
    "AUTO_ORDER",
    "FrameContext",
    "RangeReading",
    "ScaleObservation",
    "ScaleSettings",
    "ScaleSource",
    "build_scale_source",
    "register_scale_source",
    "relative_source_names",
    "scale_source_help",
    "scale_source_names",
]

AUTO = "auto"
AUTO_ORDER = ("sparse_depth", "ground_plane", "model")
"""``auto``: the first source that has its input (a sparse depth topic that publishes, a known mount),
else the model's own scale."""


@dataclass(frozen=True)
class RangeReading:
    """One ``sensor_msgs/Range`` reading: the beam's origin and unit direction in the camera's optical
    frame, the measured range (m), the sensor's valid interval and the cone's full angle (rad)."""

    origin: tuple[float, float, float]
    direction: tuple[float, float, float]
    range_m: float
    min_range: float
    max_range: float
    field_of_view: float


@dataclass(frozen=True)
class FrameContext:
    """What the robot knows at one frame besides the image. ``intrinsics`` describe the depth map
    passed with it (same size); ``sparse_depth`` and ``range_reading`` are set only on the first frame
    that uses a new measurement (a measurement counts once, whatever the camera rate)."""

    stamp_ns: int = 0
    intrinsics: CameraIntrinsics | None = None
    mount: CameraMount | None = None
    sparse_depth: np.ndarray | None = None
    range_reading: RangeReading | None = None


@dataclass(frozen=True)
class ScaleObservation:
    """One frame's verdict of a source: ``scale`` (None: cannot decide), ``confidence`` in [0, 1],
    ``support`` (points or pixels behind it) and ``reason`` (one clause for /diagnostics)."""

    scale: float | None
    confidence: float = 1.0
    support: int = 0
    reason: str = ""

    def __post_init__(self) -> None:
        if self.scale is not None and not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"a scale must be finite and > 0, got {self.scale}")

    @classmethod
    def undecided(cls, reason: str, support: int = 0) -> ScaleObservation:
        return cls(None, 0.0, support, reason)


class ScaleSource(Protocol):
    """A registered source (see the module docstring). ``relative_ok``: it can give a relative-depth
    model its metric scale (every source but ``model``)."""

    name: str
    relative_ok: bool

    def has_input(self, context: FrameContext) -> bool:
        """Whether this frame carries what the source measures (for ``auto`` and hold decisions)."""
        ...

    def observe(self, depth: np.ndarray, context: FrameContext) -> ScaleObservation: ...


@dataclass(frozen=True)
class ScaleSettings:
    """Tunables of the sources (node parameters / command options): fewest sparse-depth points for a
    frame's estimate."""

    sparse_min_points: int = 20

    def __post_init__(self) -> None:
        if self.sparse_min_points < 1:
            raise ValueError(
                f"sparse depth needs at least 1 point per estimate, got {self.sparse_min_points}"
            )


SourceFactory = Callable[[str, ScaleSettings], ScaleSource]


@dataclass(frozen=True)
class _Registered:
    factory: SourceFactory
    help: str
    takes_argument: bool
    relative_ok: bool


_REGISTRY: dict[str, _Registered] = {}


def register_scale_source(
    name: str, help: str, takes_argument: bool = False
) -> Callable[[SourceFactory], SourceFactory]:
    """Class decorator: register ``name``; the class is built as ``cls(argument, settings)`` (argument
    ``""`` when the spec has none)."""

    def decorate(factory: SourceFactory) -> SourceFactory:
        if name in _REGISTRY or name == AUTO:
            raise ValueError(f"scale source {name!r} is registered twice")
        relative_ok = factory.relative_ok  # type: ignore[attr-defined]  # every source class declares it
        _REGISTRY[name] = _Registered(factory, help, takes_argument, relative_ok)
        return factory

    return decorate


def scale_source_names() -> list[str]:
    """``auto`` and every registered name (``name:ARG`` for sources that take an argument)."""
    return [AUTO] + [f"{name}:ARG" if entry.takes_argument else name for name, entry in _REGISTRY.items()]


def relative_source_names() -> list[str]:
    """The registered sources that can give a relative-depth model metres (``relative_ok``), written
    as in :func:`scale_source_names`."""
    return [
        f"{name}:ARG" if entry.takes_argument else name
        for name, entry in _REGISTRY.items()
        if entry.relative_ok
    ]


def scale_source_help() -> str:
    """One clause per choice, for --help texts and parameter descriptions."""
    auto = f"{AUTO}: {', then '.join(AUTO_ORDER)}, the first that has its input"
    return "; ".join([auto] + [f"{name}: {entry.help}" for name, entry in _REGISTRY.items()])


def build_scale_source(spec: str, settings: ScaleSettings | None = None) -> ScaleSource:
    """The source named by ``spec`` (``name`` or ``name:ARG``; not ``auto``, which the tracker expands).
    ValueError listing the choices for an unknown name or a bad argument."""
    name, _, argument = spec.partition(":")
    entry = _REGISTRY.get(name)
    if entry is None:
        raise ValueError(f"unknown scale source {spec!r}; choose one of {', '.join(scale_source_names())}")
    if entry.takes_argument != bool(argument):
        need = f"'{name}:ARG' ({entry.help})" if entry.takes_argument else f"'{name}' without an argument"
        raise ValueError(f"scale source {spec!r}: write {need}")
    return entry.factory(argument, settings or ScaleSettings())
