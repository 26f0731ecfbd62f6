"""The teacher card: what a generic ONNX depth model expects and predicts (no torch import).

A generic ONNX file does not say its input size, layout, normalisation or what its output means, so a
JSON card beside it does (``MODEL.teacher.json`` for ``MODEL.onnx``), e.g. for PyDNet++::

    {"name": "pydnet++", "licence": "research use only", "input_height": 448, "input_width": 640,
     "layout": "NHWC", "mean": [0, 0, 0], "std": [1, 1, 1], "output": "relative_depth"}

Keys: ``input_height``/``input_width`` (the graph's input size), ``layout`` (``NCHW`` or ``NHWC``),
``color_order`` (``rgb``/``bgr``, default rgb), ``mean``/``std`` (per channel, on pixels scaled to
[0, 1]: ``x = (rgb / 255 - mean) / std``), ``output`` (``teacher_kinds.OUTPUT_KINDS``), ``licence``
(free text, recorded in every model card a student distilled from it gets), optional ``name``,
``input_name`` and ``output_name`` (default: the graph's first input and output), and for running it in
the depth node ``min_depth``/``max_depth`` (metres a metric output may take, default 0.1-80). The same
card serves ``distill-bag --teacher onnx:FILE`` (:mod:`disdepth_core.models.teachers.onnx_teacher`) and the
runtime (``model_path``: :mod:`disdepth_core.runtime.backends.card_backend`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.model_files import ModelFileError
from disdepth_core.teacher_kinds import OUTPUT_KINDS, check_output_kind

__all__ = [
    "CARD_SUFFIX",
    "DEFAULT_DEPTH_RANGE",
    "LAYOUTS",
    "TeacherCard",
    "card_path",
    "read_card_if_any",
    "single_channel_map",
]

LAYOUTS = ("NCHW", "NHWC")
DEFAULT_DEPTH_RANGE = (0.1, 80.0)
"""Metres a metric output may take when the card gives no ``min_depth``/``max_depth``."""
CARD_SUFFIX = ".teacher.json"


@dataclass(frozen=True)
class TeacherCard:
    """What an ONNX depth model expects and predicts (see the module docstring for the keys)."""

    input_height: int
    input_width: int
    output: str
    licence: str
    layout: str = "NCHW"
    color_order: str = "rgb"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    name: str = ""
    input_name: str = ""
    output_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    canonical_focal_px = 0.0  # not a card key: a card-described model predicts depth for the real camera

    def __post_init__(self) -> None:
        check_output_kind(self.output, "teacher card 'output'")
        if self.layout not in LAYOUTS:
            raise ValueError(f"teacher card 'layout' must be NCHW or NHWC, got {self.layout!r}")
        if self.color_order not in ("rgb", "bgr"):
            raise ValueError(f"teacher card 'color_order' must be rgb or bgr, got {self.color_order!r}")
        if self.input_height <= 0 or self.input_width <= 0:
            raise ValueError(
                f"teacher card input size must be positive, got {self.input_height}x{self.input_width}"
            )
        if len(self.mean) != 3 or len(self.std) != 3 or not all(s > 0 for s in self.std):
            raise ValueError("teacher card 'mean' and 'std' need 3 values each, std > 0")

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> TeacherCard:
        """Parse a card file; ValueError naming the file and the missing or bad key."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(
                f"teacher card {path} not found: write one beside the ONNX model (keys: input_height, "
                f"input_width, layout, mean, std, output one of {', '.join(OUTPUT_KINDS)}, licence)"
            ) from None
        except json.JSONDecodeError as error:
            raise ValueError(f"teacher card {path}: invalid JSON ({error})") from None
        missing = [key for key in ("input_height", "input_width", "output", "licence") if key not in raw]
        if missing:
            raise ValueError(f"teacher card {path}: missing key(s) {missing}")
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        values = {k: v for k, v in raw.items() if k in known}
        for key in ("mean", "std"):
            if key in values:
                values[key] = tuple(float(v) for v in values[key])
        try:
            return cls(**values, extra={k: v for k, v in raw.items() if k not in known})
        except (TypeError, ValueError) as error:
            raise ValueError(f"teacher card {path}: {error}") from None

    @property
    def input_norm(self) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        """``(mean, std)``, as :meth:`disdepth_core.model_info.ModelInfo.from_model` reads it."""
        return self.mean, self.std

    @property
    def min_depth(self) -> float:
        """The card's ``min_depth`` (metres), else ``DEFAULT_DEPTH_RANGE``'s."""
        return float(self.extra.get("min_depth", DEFAULT_DEPTH_RANGE[0]))

    @property
    def max_depth(self) -> float:
        """The card's ``max_depth`` (metres), else ``DEFAULT_DEPTH_RANGE``'s."""
        return float(self.extra.get("max_depth", DEFAULT_DEPTH_RANGE[1]))

    def graph_names(self, path: Path, session: Any) -> tuple[str, str]:
        """The graph input and output the card names (default: the graph's first of each), checked
        against the ONNX Runtime ``session`` of model ``path``; ModelFileError otherwise."""
        inputs = [node.name for node in session.get_inputs()]
        outputs = [node.name for node in session.get_outputs()]
        input_name, output_name = self.input_name or inputs[0], self.output_name or outputs[0]
        if input_name not in inputs or output_name not in outputs:
            raise ModelFileError(
                path,
                f"its card names input {input_name!r} / output {output_name!r}; the graph has inputs "
                f"{inputs} and outputs {outputs}",
            )
        return input_name, output_name

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        extra = values.pop("extra")
        return {**values, **extra, "mean": list(self.mean), "std": list(self.std)}


def card_path(model_path: str | os.PathLike[str]) -> Path:
    """Where the card of ``model_path`` lives: ``MODEL.teacher.json`` beside ``MODEL.onnx``."""
    path = Path(model_path)
    return path.with_name(path.stem + CARD_SUFFIX)


def read_card_if_any(model_path: str | os.PathLike[str]) -> TeacherCard | None:
    """The card beside ``model_path``, or None when it has none."""
    card = card_path(model_path)
    return TeacherCard.read(card) if card.is_file() else None


def single_channel_map(result: np.ndarray, path: Path) -> np.ndarray:
    """The H x W map of a batch-1 output shaped 1xHxW, 1x1xHxW or 1xHxWx1 of model ``path``;
    ModelFileError for any other shape."""
    squeezed = result.reshape([s for s in result.shape if s != 1]) if result.ndim > 2 else result
    if squeezed.ndim != 2:
        raise ModelFileError(path, f"output of shape {result.shape} is not a single-channel depth map")
    return squeezed
