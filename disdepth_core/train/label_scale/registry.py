"""Metric scale sources of a relative teacher's labels, one registration each (the ``register_model``
pattern of ``models.registry``).

A relative teacher teaches metric depth only with a declared source (a robot needs metres): the
``--scale`` of ``disdepth distill-bag`` and ``teacher_options.scale`` (``--teacher-scale``) of the
training stages. A source is written ``name`` or ``name:argument``; it turns ``(raw, gt)`` frames into
one global :class:`~disdepth_core.models.teachers.output.MetricScale` and, where it can, each frame its
own. The help texts and error lists come from here. A new source is one module with a
:class:`LabelScaleSource` subclass decorated by :func:`register_label_scale`, imported by this package's
``__init__``. Nothing here imports torch at import time (the command line lists the sources).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    from disdepth_core.models.teachers.output import MetricScale

Pairs = Iterable[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class LabelScaleSource:
    """A parsed source; ``argument`` is what follows ``name:``.

    Class attributes of a kind: ``name``, ``usage`` (how it is written), ``summary`` (one clause of
    help), ``in_bag_only`` (it reads a topic of the bag: ``distill-bag`` only), ``fits`` (it needs
    ``(raw, gt)`` frames), ``takes_scale_data`` (``distill-bag --scale-data`` frames stand in for a
    depth topic), ``per_frame`` (each frame with ground truth gets its own scale)."""

    argument: str = ""

    name: ClassVar[str]
    usage: ClassVar[str]
    summary: ClassVar[str]
    in_bag_only: ClassVar[bool] = False
    fits: ClassVar[bool] = True
    takes_scale_data: ClassVar[bool] = False
    per_frame: ClassVar[bool] = False

    @classmethod
    def from_argument(cls, argument: str) -> LabelScaleSource:
        """The source for ``name:argument``; ValueError naming the problem."""
        return cls(argument)

    def missing_input(self, depth_topic: bool, scale_data: bool) -> str | None:
        """Why ``distill-bag`` cannot use this source with the given inputs (None: it can)."""
        return None

    def global_scale(
        self, output_kind: str, pairs: Pairs, depth_range: tuple[float, float], where: str
    ) -> MetricScale:
        """One scale for every frame; ``pairs`` are ``(raw, gt)`` frames (read only if ``fits``), ``where``
        says in words where they come from."""
        raise NotImplementedError

    def frame_scale(
        self, raw: np.ndarray, gt: np.ndarray, output_kind: str, depth_range: tuple[float, float]
    ) -> MetricScale | None:
        """A frame's own scale from its ground truth (``per_frame`` sources; None: use the global one)."""
        return None

    def __str__(self) -> str:
        return f"{self.name}:{self.argument}" if self.argument else self.name


_SOURCES: dict[str, type[LabelScaleSource]] = {}


def register_label_scale(cls: type[LabelScaleSource]) -> type[LabelScaleSource]:
    """Class decorator: add a source kind under ``cls.name`` (twice is a programming error)."""
    if cls.name in _SOURCES:
        raise ValueError(f"label scale source {cls.name!r} is already registered")
    _SOURCES[cls.name] = cls
    return cls


def label_scale_names(in_bag: bool = True) -> tuple[str, ...]:
    """Registered sources, in registration order; ``in_bag=False``: those the training stages take."""
    return tuple(name for name, cls in _SOURCES.items() if in_bag or not cls.in_bag_only)


def label_scale_usage(in_bag: bool = True) -> str:
    """The sources in words, for help texts and errors: ``usage (summary), ..., or usage (summary)``."""
    parts = [f"{_SOURCES[n].usage} ({_SOURCES[n].summary})" for n in label_scale_names(in_bag)]
    return ", or ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else "".join(parts)


def parse_label_scale(text: str, in_bag: bool = True) -> LabelScaleSource:
    """The source written ``text`` (``name`` or ``name:argument``); ValueError listing the choices."""
    name, _, argument = text.partition(":")
    if name not in label_scale_names(in_bag):
        choices = ", ".join(_SOURCES[n].usage for n in label_scale_names(in_bag))
        raise ValueError(f"scale source {text!r}: expected one of {choices}")
    return _SOURCES[name].from_argument(argument)
