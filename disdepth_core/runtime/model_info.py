"""What the runtime needs to know about a model, stored as ONNX ``metadata_props`` (all strings).

The same key set is written by :mod:`disdepth_core.export.onnx_export`, copied into TensorRT engine
sidecars by the engine cache, and rebuilt from a checkpoint for the torch backend, so every backend
pre- and post-processes identically (ARCHITECTURE.md, "Model input").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

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


_REQUIRED_KEYS = ("name", "input_height", "input_width", "mean", "std", "min_depth", "max_depth")


@dataclass(frozen=True)
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
    """

    name: str
    input_height: int
    input_width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    min_depth: float
    max_depth: float
    color_order: str = "rgb"
    dynamic: bool = False
    trained: bool = True
    precision: str = "fp32"
    recipe: str = ""
    git_hash: str = ""
    output_meaning: str = OUTPUT_MEANING
    canonical_focal_px: float = 0.0
    output_kind: str = "metric_depth"
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
        check_output_kind(self.output_kind, "model output")

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
            "name": self.name,
            "input_height": str(self.input_height),
            "input_width": str(self.input_width),
            "mean": json.dumps(list(self.mean)),
            "std": json.dumps(list(self.std)),
            "color_order": self.color_order,
            "min_depth": repr(float(self.min_depth)),
            "max_depth": repr(float(self.max_depth)),
            "dynamic": str(self.dynamic).lower(),
            "trained": str(self.trained).lower(),
            "precision": self.precision,
            "recipe": self.recipe,
            "git_hash": self.git_hash,
            "output_meaning": self.output_meaning,
        }
        if self.camera_aware:
            props["canonical_focal_px"] = repr(float(self.canonical_focal_px))
        if self.relative:
            props["output_kind"] = self.output_kind
        props.update(self.extra)
        return props

    @classmethod
    def from_props(cls, props: Mapping[str, str], source: str | Path) -> ModelInfo:
        """Parse ``metadata_props``; raise :class:`ModelFileError` naming ``source`` if keys are missing."""
        missing = [key for key in _REQUIRED_KEYS if key not in props]
        if missing:
            raise ModelFileError(
                source,
                f"missing disdepth metadata {missing}; export the model with `disdepth export` "
                "so the runtime knows its input size, normalisation and depth range",
            )
        try:
            known = set(_REQUIRED_KEYS) | {
                "color_order",
                "dynamic",
                "trained",
                "precision",
                "recipe",
                "git_hash",
                "output_meaning",
                "canonical_focal_px",
                "output_kind",
            }
            color_order = props.get("color_order", "rgb").lower()
            if color_order not in ("rgb", "bgr"):
                raise ValueError(f"color_order must be rgb or bgr, got {color_order!r}")
            return cls(
                name=props["name"],
                input_height=int(props["input_height"]),
                input_width=int(props["input_width"]),
                mean=_triple(props["mean"]),
                std=_triple(props["std"]),
                min_depth=float(props["min_depth"]),
                max_depth=float(props["max_depth"]),
                color_order=color_order,
                dynamic=props.get("dynamic", "false") == "true",
                trained=props.get("trained", "true") == "true",
                precision=props.get("precision", "fp32"),
                recipe=props.get("recipe", ""),
                git_hash=props.get("git_hash", ""),
                output_meaning=props.get("output_meaning", OUTPUT_MEANING),
                canonical_focal_px=_non_negative(props.get("canonical_focal_px", "0"), "canonical_focal_px"),
                output_kind=props.get("output_kind", "metric_depth"),
                extra={k: v for k, v in props.items() if k not in known},
            )
        except (ValueError, TypeError) as error:
            raise ModelFileError(source, f"invalid disdepth metadata: {error}") from error


def _triple(text: str) -> tuple[float, float, float]:
    values = json.loads(text)
    if not isinstance(values, list) or len(values) != 3:
        raise ValueError(f"expected 3 per-channel values, got {text!r}")
    return (float(values[0]), float(values[1]), float(values[2]))


def _non_negative(text: str, key: str) -> float:
    value = float(text)
    if not (value >= 0 and value < float("inf")):
        raise ValueError(f"{key} must be a finite number >= 0, got {text!r}")
    return value
