"""The depth node's parameters: one table with defaults, descriptors (ranges, read-only) and validation.

Model/backend parameters are read-only (they need a restart); display parameters can be changed at run
time (`ros2 param set`). `config/depth.yaml` documents every entry; a test checks they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

from disdepth_core.geometry import DEFAULT_CLOUD_STRIDE
from disdepth_core.model_info import SIZE_MULTIPLE, ModelInfo
from disdepth_core.runtime.options import BACKENDS, DEVICE_HELP, PRECISIONS, RuntimeOptions
from disdepth_core.scale import (
    AUTO,
    ScaleSettings,
    ScaleTracker,
    TrackerSettings,
    build_scale_source,
    mount_from_angles,
    scale_source_help,
)
from disdepth_core.serving.limits import DEFAULT_MAX_INPUT_PIXELS
from disdepth_core.visualize.colorize import COLORMAPS
from disdepth_ros.outputs import OutputSettings

__all__ = [
    "PARAMETERS",
    "ParameterSpec",
    "descriptor",
    "node_parameters",
    "output_settings",
    "parameter_mount",
    "runtime_options",
    "scale_tracker",
    "start_up_options",
    "validate_parameters",
]

RELIABILITIES = ("reliable", "best_effort")


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter: default value, description, optional numeric range, read-only flag."""

    default: Any
    description: str
    read_only: bool = False
    range: tuple[float, float] | tuple[int, int, int] | None = None  # (lo, hi) float or (lo, hi, step) int


PARAMETERS: dict[str, ParameterSpec] = {
    "autostart": ParameterSpec(
        True,
        "Configure and activate at start-up (a plain node). false: stay unconfigured until a lifecycle "
        "manager (or `ros2 lifecycle set`) drives the transitions.",
        read_only=True,
    ),
    "model_path": ParameterSpec(
        "",
        "Model file (.onnx, TensorRT .engine, or .safetensors checkpoint). Empty: the shipped "
        "share/disdepth/models/disdepth_default.onnx.",
        read_only=True,
    ),
    "backend": ParameterSpec("auto", f"Inference backend: {', '.join(BACKENDS)}.", read_only=True),
    "device": ParameterSpec("auto", f"Device: {DEVICE_HELP}.", read_only=True),
    "precision": ParameterSpec(
        "auto",
        f"Precision: {', '.join(PRECISIONS)}. auto: the fastest this CPU/GPU runs whose depth stays within "
        "1 % of fp32 (bf16 on AVX-512 BF16/AMX CPUs, an int8 file <stem>.int8.onnx beside the model, fp16 "
        "TensorRT engines; else fp32; the log line says what was chosen and why). fp16: GPU backends; "
        "bf16: OpenVINO; int8: TensorRT, or an int8 file exported for onnxruntime/openvino.",
        read_only=True,
    ),
    "threads": ParameterSpec(
        0, "Intra-op CPU threads of the backend; 0 = the backend's default.", True, (0, 256, 1)
    ),
    "input_height": ParameterSpec(
        0,
        f"Network input height in pixels (multiple of {SIZE_MULTIPLE}); 0 = the model's.",
        True,
        (0, 4096, SIZE_MULTIPLE),
    ),
    "input_width": ParameterSpec(
        0,
        f"Network input width in pixels (multiple of {SIZE_MULTIPLE}); 0 = the model's.",
        True,
        (0, 4096, SIZE_MULTIPLE),
    ),
    "max_input_pixels": ParameterSpec(
        DEFAULT_MAX_INPUT_PIXELS,
        "Largest camera or sparse depth image accepted (width x height pixels); larger ones are dropped "
        "before decoding (checked against the Image header or the JPEG/PNG header). Default: 3840x2160.",
        True,
        (1, 2**30, 1),
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
    "output_timeout": ParameterSpec(
        1.0,
        "Seconds without published depth while images arrive before /diagnostics warns (naming the "
        "failure counters that grew); at least 3x the inference latency p95 is used.",
        range=(0.1, 3600.0),
    ),
    "min_depth": ParameterSpec(
        0.0,
        "Metric depths below this (metres, after the scale source) are published as invalid; 0 = no limit "
        "beyond the model's own range.",
        range=(0.0, 1000.0),
    ),
    "max_depth": ParameterSpec(
        0.0,
        "Metric depths above this (metres, after the scale source) are published as invalid; 0 = no limit "
        "beyond the model's own range.",
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
    "cloud_stride": ParameterSpec(
        DEFAULT_CLOUD_STRIDE, "Keep every n-th row and column in the point cloud.", range=(1, 16, 1)
    ),
    "max_range": ParameterSpec(
        0.0, "Cloud points farther than this (metres, Euclidean) are NaN; 0 = no limit.", range=(0.0, 1000.0)
    ),
    "flying_pixel_threshold": ParameterSpec(
        0.1,
        "Cloud points whose depth jumps by more than this fraction of the nearer depth to a neighbouring "
        "point are removed (flying pixels at object boundaries become phantom obstacles); 0 = off.",
        range=(0.0, 10.0),
    ),
    "scale_source": ParameterSpec(
        AUTO,
        f"Where the metric scale comes from ({scale_source_help()}). /diagnostics says which scale is in "
        "force and why.",
        read_only=True,
    ),
    "base_frame": ParameterSpec(
        "base_footprint",
        "TF frame whose z axis is up and whose origin is on the floor (REP 120); the camera mount for "
        "ground_plane is looked up from it to the image's frame_id at the image stamp (tf2_ros, where "
        "installed, and camera_height_m is 0).",
        read_only=True,
    ),
    "camera_height_m": ParameterSpec(
        0.0,
        "Camera height above the floor (m) for ground_plane when TF is not used; 0 = not given (then TF, "
        "where tf2_ros is installed).",
        range=(0.0, 100.0),
    ),
    "camera_pitch_deg": ParameterSpec(
        0.0, "Camera pitch (deg, > 0 looks down) for the camera_height_m mount.", range=(-90.0, 90.0)
    ),
    "camera_roll_deg": ParameterSpec(
        0.0,
        "Camera roll about its forward axis (deg, REP 103) for the camera_height_m mount.",
        range=(-180.0, 180.0),
    ),
    "scale_smoothing": ParameterSpec(
        0.3,
        "Weight of a frame's scale estimate in the moving average (log space, times the source's "
        "confidence); 1 = no smoothing.",
        read_only=True,
        range=(0.001, 1.0),
    ),
    "scale_max_step": ParameterSpec(
        0.1,
        "Largest change of the published scale from one frame to the next (0.1 = 10 %).",
        read_only=True,
        range=(0.001, 10.0),
    ),
    "scale_hold_s": ParameterSpec(
        10.0,
        "Seconds the last good scale is held while the source cannot decide (floor not visible, no sensor "
        "points); then a metric model falls back to its own scale.",
        read_only=True,
        range=(0.0, 3600.0),
    ),
    "sparse_depth_min_points": ParameterSpec(
        20,
        "Fewest sensor points for a sparse_depth scale estimate (median of sensor/prediction ratios).",
        True,
        (1, 10**7, 1),
    ),
    "sparse_depth_max_age": ParameterSpec(
        0.2,
        "Largest |stamp difference| (s) between an image and the sparse depth or range reading used for it.",
        range=(0.0, 10.0),
    ),
    "range_position_xyz": ParameterSpec(
        [0.0, 0.0, 0.0],
        "Range sensor's position in the camera optical frame (m; x right, y down, z forward), used when TF "
        "cannot give it.",
        read_only=True,
    ),
    "range_direction_xyz": ParameterSpec(
        [0.0, 0.0, 1.0],
        "Range sensor's beam direction in the camera optical frame, used when TF cannot give it.",
        read_only=True,
    ),
    "colormap": ParameterSpec("turbo", f"Colormap of depth/colorized: {', '.join(COLORMAPS)}."),
    "colorize_min_depth": ParameterSpec(
        0.0,
        "Near end (metres) of the depth/colorized colour scale; 0 and 0 = each frame's 2nd-98th percentile.",
        range=(0.0, 1000.0),
    ),
    "colorize_max_depth": ParameterSpec(
        0.0,
        "Far end (metres) of the depth/colorized colour scale; 0 = automatic (see colorize_min_depth).",
        range=(0.0, 1000.0),
    ),
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
    "qos_reliability": RELIABILITIES,
    "colormap": tuple(COLORMAPS),
}


def start_up_options(values: dict[str, Any]) -> RuntimeOptions:
    """Validate a full parameter set once, at start-up, and return its runtime options (backend, device,
    precision, threads and input size are read-only: checked here only). ValueError: `invalid parameter:
    <what and why>`."""
    try:
        options = runtime_options(values)
    except ValueError as error:
        problem: str | None = str(error)
    else:
        problem = validate_parameters(values)
    if problem is not None:
        raise ValueError(f"invalid parameter: {problem}")
    return options


def validate_parameters(values: dict[str, Any]) -> str | None:
    """Check the choices, scale, mount and depth ranges of a full parameter set (the runtime options are
    `runtime_options`'s); returns an error message or None."""
    for name, choices in _CHOICES.items():
        if values[name] not in choices:
            return f"{name} must be one of {', '.join(choices)}, got {values[name]!r}"
    try:
        if values["scale_source"] != AUTO:
            build_scale_source(values["scale_source"])
        parameter_mount(values)
    except ValueError as error:
        return str(error)
    for name in ("range_position_xyz", "range_direction_xyz"):
        if len(values[name]) != 3:
            return f"{name} needs 3 values (x, y, z in the camera optical frame), got {list(values[name])}"
    if not any(values["range_direction_xyz"]):
        return "range_direction_xyz must not be all zeros"
    low, high = values["min_depth"], values["max_depth"]
    if low > 0 and high > 0 and not high > low:
        return f"max_depth ({high}) must be greater than min_depth ({low})"
    near, far = values["colorize_min_depth"], values["colorize_max_depth"]
    if (near > 0 or far > 0) and not far > near:
        return (
            f"colorize_max_depth ({far}) must be greater than colorize_min_depth ({near}), or both 0 (auto)"
        )
    return None


def output_settings(values: dict[str, Any], info: ModelInfo) -> OutputSettings:
    """The output settings of a full parameter set for a model. Depth limits 0 mean none beyond the
    model's own range; ValueError when the model's own scale is used and its range lies outside them."""
    low = float(values["min_depth"])
    high = float(values["max_depth"]) or float("inf")
    if values["scale_source"] == "model" and not min(high, info.max_depth) > max(low, info.min_depth):
        raise ValueError(
            f"effective depth range is empty: min_depth {max(low, info.min_depth):g} m >= max_depth "
            f"{min(high, info.max_depth):g} m (model {info.name} predicts {info.min_depth:g}-"
            f"{info.max_depth:g} m with scale_source=model; 0 means no limit)"
        )
    return OutputSettings(
        min_depth=low,
        max_depth=high,
        publish_depth_mm=bool(values["publish_depth_mm"]),
        publish_colorized=bool(values["publish_colorized"]),
        publish_uncertainty=bool(values["publish_uncertainty"]),
        publish_points=bool(values["publish_points"]),
        points_rgb=bool(values["points_rgb"]),
        cloud_stride=int(values["cloud_stride"]),
        max_range=float(values["max_range"]),
        flying_pixel_threshold=float(values["flying_pixel_threshold"]),
        colormap=str(values["colormap"]),
        colorize_min=float(values["colorize_min_depth"]),
        colorize_max=float(values["colorize_max_depth"]),
    )


def parameter_mount(values: dict[str, Any]) -> Any:
    """The camera mount given by camera_height_m / camera_pitch_deg / camera_roll_deg (None when the
    height is 0: not given)."""
    height = float(values["camera_height_m"])
    if height <= 0:
        return None
    pitch, roll = float(values["camera_pitch_deg"]), float(values["camera_roll_deg"])
    return mount_from_angles(
        height, pitch, roll, "parameters camera_height_m/camera_pitch_deg/camera_roll_deg"
    )


def scale_tracker(values: dict[str, Any], info: ModelInfo) -> ScaleTracker:
    """The scale tracker of a full parameter set for a model (ValueError for a bad scale_source)."""
    return ScaleTracker(
        str(values["scale_source"]),
        ScaleSettings(sparse_min_points=int(values["sparse_depth_min_points"])),
        TrackerSettings(
            smoothing=float(values["scale_smoothing"]),
            max_step=float(values["scale_max_step"]),
            hold_s=float(values["scale_hold_s"]),
        ),
        relative_model=info.relative,
    )


def runtime_options(values: dict[str, Any]) -> RuntimeOptions:
    """The runtime options of a full parameter set (threads 0 = the backend's default); ValueError for
    an input size given on one side only or a backend, precision, device or size `RuntimeOptions`
    refuses."""
    height, width = int(values["input_height"]), int(values["input_width"])
    if (height == 0) != (width == 0):
        raise ValueError(f"set both input_height and input_width (or neither), got {height}x{width}")
    return RuntimeOptions(
        backend=values["backend"],
        device=values["device"],
        precision=values["precision"],
        threads=int(values["threads"]) or None,
        input_hw=(height, width) if height else None,
    )


def node_parameters(options: RuntimeOptions) -> dict[str, Any]:
    """The node parameters that select `options` (the inverse of `runtime_options`)."""
    height, width = options.input_hw or (0, 0)
    return {
        "backend": options.backend,
        "device": options.device,
        "precision": options.precision,
        "threads": options.threads or 0,
        "input_height": height,
        "input_width": width,
    }
