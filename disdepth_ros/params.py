"""The depth node's parameters: one table with defaults, descriptors (ranges, read-only) and validation.

Model/backend parameters are read-only (they need a restart); display parameters can be changed at run
time (`ros2 param set`). `config/depth.yaml` documents every entry; a test checks they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

from disdepth_ros.colorize import COLORMAPS

__all__ = ["PARAMETERS", "ParameterSpec", "descriptor", "validate_parameters"]

BACKENDS = ("auto", "onnxruntime", "tensorrt", "torch")
PRECISIONS = ("fp32", "fp16", "int8")
RELIABILITIES = ("reliable", "best_effort")


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter: default value, description, optional numeric range, read-only flag."""

    default: Any
    description: str
    read_only: bool = False
    range: tuple[float, float] | tuple[int, int, int] | None = None  # (lo, hi) float or (lo, hi, step) int


PARAMETERS: dict[str, ParameterSpec] = {
    "model_path": ParameterSpec(
        "",
        "Model file (.onnx, TensorRT .engine, or .safetensors checkpoint). Empty: the shipped "
        "share/disdepth/models/disdepth_default.onnx.",
        read_only=True,
    ),
    "backend": ParameterSpec("auto", f"Inference backend: {', '.join(BACKENDS)}.", read_only=True),
    "device": ParameterSpec("auto", "Device: auto, cpu, cuda or cuda:N.", read_only=True),
    "precision": ParameterSpec(
        "fp32", f"Precision: {', '.join(PRECISIONS)} (fp16/int8 need a GPU backend).", read_only=True
    ),
    "threads": ParameterSpec(
        0, "Intra-op CPU threads of the backend; 0 = the backend's default.", True, (0, 256, 1)
    ),
    "input_height": ParameterSpec(
        0, "Network input height in pixels (multiple of 32); 0 = the model's.", True, (0, 4096, 32)
    ),
    "input_width": ParameterSpec(
        0, "Network input width in pixels (multiple of 32); 0 = the model's.", True, (0, 4096, 32)
    ),
    "use_compressed": ParameterSpec(
        False, "Subscribe to image/compressed (jpeg/png CompressedImage) instead of image.", read_only=True
    ),
    "qos_reliability": ParameterSpec(
        "reliable",
        "Reliability of the publishers: reliable or best_effort (per-topic qos_overrides still apply).",
        read_only=True,
    ),
    "stale_input_timeout": ParameterSpec(
        5.0, "Seconds without image or camera_info before /diagnostics warns.", range=(0.1, 3600.0)
    ),
    "min_depth": ParameterSpec(
        0.0,
        "Depths below this (metres) are published as invalid; 0 = the model's minimum.",
        range=(0.0, 1000.0),
    ),
    "max_depth": ParameterSpec(
        0.0,
        "Depths above this (metres) are published as invalid; 0 = the model's maximum.",
        range=(0.0, 1000.0),
    ),
    "publish_depth_mm": ParameterSpec(False, "Also publish depth/image_mm (16UC1 millimetres, 0 = invalid)."),
    "publish_colorized": ParameterSpec(True, "Publish depth/colorized (bgr8) when it has subscribers."),
    "publish_uncertainty": ParameterSpec(
        False, "Publish depth/uncertainty (32FC1 variance, m^2) when the model predicts one."
    ),
    "publish_points": ParameterSpec(
        True, "Publish the organized point cloud `points` when it has subscribers."
    ),
    "points_rgb": ParameterSpec(False, "Add packed rgb to the point cloud (PointXYZRGB, point_step 32)."),
    "cloud_stride": ParameterSpec(2, "Keep every n-th row and column in the point cloud.", range=(1, 16, 1)),
    "max_range": ParameterSpec(
        0.0, "Cloud points farther than this (metres, Euclidean) are NaN; 0 = no limit.", range=(0.0, 1000.0)
    ),
    "colormap": ParameterSpec("turbo", f"Colormap of depth/colorized: {', '.join(COLORMAPS)}."),
}


def descriptor(name: str, spec: ParameterSpec) -> ParameterDescriptor:
    """The rcl_interfaces descriptor for `spec` (ranges are enforced by rclpy on set)."""
    result = ParameterDescriptor(name=name, description=spec.description, read_only=spec.read_only)
    if spec.range is not None:
        if isinstance(spec.default, int) and not isinstance(spec.default, bool):
            low, high, step = spec.range
            result.integer_range = [IntegerRange(from_value=low, to_value=high, step=step)]
        else:
            low, high = spec.range
            result.floating_point_range = [FloatingPointRange(from_value=low, to_value=high, step=0.0)]
    return result


_CHOICES: dict[str, tuple[str, ...]] = {
    "backend": BACKENDS,
    "precision": PRECISIONS,
    "qos_reliability": RELIABILITIES,
    "colormap": tuple(COLORMAPS),
}


def validate_parameters(values: dict[str, Any]) -> str | None:
    """Check choices and the depth range of a full parameter set; returns an error message or None."""
    for name, choices in _CHOICES.items():
        if values[name] not in choices:
            return f"{name} must be one of {', '.join(choices)}, got {values[name]!r}"
    low, high = values["min_depth"], values["max_depth"]
    if low > 0 and high > 0 and not high > low:
        return f"max_depth ({high}) must be greater than min_depth ({low})"
    return None
