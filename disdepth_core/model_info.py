"""What the runtime needs to know about a model, stored as ONNX ``metadata_props`` (all strings).

The same key set is written by :mod:`disdepth_core.export.onnx_export`, copied into TensorRT engine
sidecars by the engine cache, rebuilt from a checkpoint for the torch backend and read by the ONNX
teacher, so every backend pre- and post-processes identically (ARCHITECTURE.md, "Model input").
No torch import: the ONNX runtime path, the teachers and the command line share it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from disdepth_core.model_files import ModelFileError
from disdepth_core.teacher_kinds import check_output_kind

OUTPUT_MEANING = (
    "depth: B x 1 x H x W metres along the optical axis; "
    "uncertainty: B x 1 x H x W variance (m^2) of the per-pixel bin distribution"
)
SIZE_MULTIPLE = 16
"""The one input-size rule: model input sides (export, training, inference, node parameters) must be
positive multiples of this. The students' deepest features have stride 32; an odd stride-32 map is
resized to its stride-16 skip feature by the decoder, so 16 suffices and admits 240 x 320."""
INPUT_NAME = "image"
DEPTH_OUTPUT = "depth"
UNCERTAINTY_OUTPUT = "uncertainty"


def check_input_size(height: int, width: int, what: str = "input size") -> None:
    """Raise ValueError naming ``what`` unless both sides are positive multiples of ``SIZE_MULTIPLE``."""
    if height <= 0 or width <= 0 or height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
        raise ValueError(f"{what} must be positive multiples of {SIZE_MULTIPLE}, got {height}x{width}")


class DescribedModel(Protocol):
    """What :meth:`ModelInfo.from_model` reads from a model: a ``DepthModel``, or a teacher card."""

    name: str
    min_depth: float
    max_depth: float
    canonical_focal_px: float

    @property
    def input_norm(self) -> tuple[Sequence[float], Sequence[float]]:
        """``(mean, std)`` per RGB channel (``models.normalization.InputNorm`` is such a pair)."""


_WHEN_SET = {"when_set": True}
"""Field metadata: the key is written only when the value differs from the default (files without it
read as the default)."""


@dataclass(frozen=True, kw_only=True)
class ModelInfo:
    """Model description: pre-processing constants, depth range and provenance.

    ``input_height``/``input_width`` are the export size; a ``dynamic`` model also accepts other sizes
    (multiples of ``SIZE_MULTIPLE``). ``precision`` is the numeric format stored in the file
    (fp32, fp16, bf16, int8). ``canonical_focal_px`` > 0 marks a camera-aware model (Metric3D / Depth
    Anything 3 metric convention): its output is the depth a camera with that focal length (pixels, at
    the model input resolution) would see, and the runtime rescales it by the real focal length.
    ``output_kind`` is what the depth output means (``teacher_kinds.OUTPUT_KINDS``): disdepth exports are
    ``metric_depth``; a foreign model described by a teacher card may be ``relative_depth`` (its runtime
    output is depth up to scale) or ``relative_inverse_depth`` (inverted by the runtime first); a
    relative model needs a scale source.

    Every field but ``extra`` is one ``metadata_props`` key of the same name, in this order; fields
    without a default are required; ``extra`` holds the other keys (provenance: teacher, licence).
    """

    name: str
    input_height: int
    input_width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    color_order: str = field(default="rgb", metadata={"parse": str.lower})
    min_depth: float
    max_depth: float
    dynamic: bool = False
    trained: bool = True
    precision: str = "fp32"
    recipe: str = ""
    git_hash: str = ""
    output_meaning: str = OUTPUT_MEANING
    canonical_focal_px: float = field(default=0.0, metadata=_WHEN_SET)
    output_kind: str = field(default="metric_depth", metadata=_WHEN_SET)
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.input_height <= 0 or self.input_width <= 0:
            raise ValueError(f"input size must be positive, got {self.input_height}x{self.input_width}")
        if not (0 <= self.min_depth < self.max_depth < float("inf")):
            raise ValueError(
                f"depth range must satisfy 0 <= min_depth < max_depth < inf, got "
                f"[{self.min_depth}, {self.max_depth}]"
            )
        if not all(s > 0 for s in self.std):
            raise ValueError(f"std must be positive per channel, got {self.std}")
        if self.color_order not in ("rgb", "bgr"):
            raise ValueError(f"color_order must be rgb or bgr, got {self.color_order!r}")
        if not (0 <= self.canonical_focal_px < float("inf")):
            raise ValueError(
                f"canonical_focal_px must be a finite number >= 0, got {self.canonical_focal_px}"
            )
        check_output_kind(self.output_kind, "model output")

    @classmethod
    def from_model(
        cls, model: DescribedModel, input_height: int, input_width: int, **settings: Any
    ) -> ModelInfo:
        """Describe ``model`` at ``input_height`` x ``input_width``: name, normalisation, depth range and
        canonical focal length from the model; what the caller knows instead (``dynamic``,
        ``precision``, provenance, a teacher card's ``output_kind``, another ``name``) as ``settings``."""
        mean, std = model.input_norm
        described = {
            "name": model.name,
            "mean": tuple(mean),
            "std": tuple(std),
            "min_depth": float(model.min_depth),
            "max_depth": float(model.max_depth),
            "canonical_focal_px": float(model.canonical_focal_px),
        }
        return cls(**{**described, **settings}, input_height=input_height, input_width=input_width)

    @property
    def relative(self) -> bool:
        """Whether the output is depth only up to an unknown scale (it needs a scale source)."""
        return self.output_kind != "metric_depth"

    @property
    def camera_aware(self) -> bool:
        """Whether depth is predicted for ``canonical_focal_px`` and must be rescaled by the real focal."""
        return self.canonical_focal_px > 0

    def to_props(self) -> dict[str, str]:
        """Serialise to string key/values (ONNX ``metadata_props``, engine sidecar)."""
        props = {
            key.name: _WRITE[key.type](getattr(self, key.name))
            for key in _prop_fields()
            if not (key.metadata.get("when_set") and getattr(self, key.name) == key.default)
        }
        props.update(self.extra)
        return props

    @classmethod
    def from_props(cls, props: Mapping[str, str], source: str | Path) -> ModelInfo:
        """Parse ``metadata_props``; raise :class:`ModelFileError` naming ``source`` if keys are missing."""
        keys = _prop_fields()
        missing = [key.name for key in keys if key.default is dataclasses.MISSING and key.name not in props]
        if missing:
            raise ModelFileError(
                source,
                f"missing disdepth metadata {missing}; export the model with `disdepth export` "
                "so the runtime knows its input size, normalisation and depth range",
            )
        try:
            values = {
                key.name: key.metadata.get("parse", _PARSE[key.type])(props[key.name])
                for key in keys
                if key.name in props
            }
            known = {key.name for key in keys}
            return cls(**values, extra={k: v for k, v in props.items() if k not in known})
        except (ValueError, TypeError) as error:
            raise ModelFileError(source, f"invalid disdepth metadata: {error}") from error


def _prop_fields() -> tuple[dataclasses.Field, ...]:
    """The fields stored as one ``metadata_props`` key each (all but ``extra``)."""
    return tuple(key for key in dataclasses.fields(ModelInfo) if key.name != "extra")


def _triple(text: str) -> tuple[float, float, float]:
    values = json.loads(text)
    if not isinstance(values, list) or len(values) != 3:
        raise ValueError(f"expected 3 per-channel values, got {text!r}")
    return (float(values[0]), float(values[1]), float(values[2]))


_TRIPLE = "tuple[float, float, float]"
# Field annotation (a string under ``from __future__ import annotations``) -> props text and back.
_WRITE: dict[str, Callable[[Any], str]] = {
    "str": str,
    "int": str,
    "float": lambda value: repr(float(value)),
    "bool": lambda value: str(value).lower(),
    _TRIPLE: lambda value: json.dumps(list(value)),
}
_PARSE: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": lambda text: text == "true",
    _TRIPLE: _triple,
}
