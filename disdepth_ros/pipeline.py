"""The one per-frame path: camera message in, depth and its companion messages out.

`FramePipeline.process(msg, camera_info, wanted)` does, for one `sensor_msgs/Image` or
`CompressedImage`: size check against `max_input_pixels` (raw header or the JPEG/PNG header, before
any decoding) -> decode to RGB -> camera_info checked for this image (scaled when sizes differ) ->
`DepthEstimator.predict` (a camera-aware model gets the image's focal length; depth outside the model's
range is invalid) -> the metric scale (`disdepth_core.scale.ScaleTracker`: the model's own, the ground
plane from the camera mount, a sparse depth sensor, a range beam or a fixed factor; `ScaleInputs` carries
what the robot knows besides the image) -> the published depth limits (metres) -> output messages
(`disdepth_ros.outputs`). The depth node, `eval-bag`, the demo (through the node) and
`benchmarks/node.py` all call it, so they cannot disagree.

Error policy: `process` never raises for anything a message can contain or a backend can do. A failure
that loses the frame is returned as `FrameOutcome.failure`; one that only loses part of the outputs
(an unusable camera_info: depth is still published, without camera_info and points) is in
`FrameOutcome.problems`. Both carry a cause of `disdepth_core.serving.failures.FAILURE_CAUSES`; the caller
counts and logs them (throttled per cause) and keeps going.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sensor_msgs.msg import CameraInfo

from disdepth_core.geometry import CameraIntrinsics
from disdepth_core.image_encodings import ImageTooLargeError
from disdepth_core.runtime import DepthEstimator
from disdepth_core.runtime.image_ops import invalidate
from disdepth_core.scale import CameraMount, FrameContext, RangeReading, ScaleDecision, ScaleTracker
from disdepth_core.serving.failures import FrameFailure
from disdepth_core.serving.limits import DEFAULT_MAX_INPUT_PIXELS
from disdepth_ros.conversions import compressed_msg_to_rgb, image_msg_to_rgb, message_array
from disdepth_ros.outputs import (
    ON_DEMAND_OUTPUTS,
    OutputSettings,
    build_cloud,
    build_image_outputs,
    camera_info_for_image,
)

__all__ = ["FrameOutcome", "FramePipeline", "FrameTimings", "ScaleInputs"]


@dataclass
class FrameTimings:
    """Milliseconds per stage of one frame (0 for stages that did not run): decode; the estimator's
    pre-processing (resize, normalise), backend call and post-processing (restore to the image size,
    range check); the scale source with the published limits; the image messages with depth/camera_info
    (`outputs_ms`); the point cloud (`cloud_ms`)."""

    decode_ms: float = 0.0
    preprocess_ms: float = 0.0
    inference_ms: float = 0.0
    postprocess_ms: float = 0.0
    scale_ms: float = 0.0
    outputs_ms: float = 0.0
    cloud_ms: float = 0.0

    @property
    def total_ms(self) -> float:
        return (
            self.decode_ms
            + self.preprocess_ms
            + self.inference_ms
            + self.postprocess_ms
            + self.scale_ms
            + self.outputs_ms
            + self.cloud_ms
        )


@dataclass(frozen=True)
class ScaleInputs:
    """What the robot knows at this frame besides the image: the camera mount (TF or parameters), a
    sparse depth image and a range reading that no earlier frame used (each measurement counts once)."""

    mount: CameraMount | None = None
    sparse_depth: np.ndarray | None = None
    range_reading: RangeReading | None = None


@dataclass
class FrameOutcome:
    """What one frame produced: `depth` is the published metric depth (scaled, limited, NaN invalid; it
    shares its memory with `messages["depth"]`, so treat it as read-only) and `model_depth` the model's
    own depth before the scale (for scoring), when prediction ran; `scale` says which scale was applied
    and why."""

    messages: dict[str, object] = field(default_factory=dict)
    rgb: np.ndarray | None = None
    depth: np.ndarray | None = None
    model_depth: np.ndarray | None = None
    timings: FrameTimings = field(default_factory=FrameTimings)
    failure: FrameFailure | None = None
    problems: list[FrameFailure] = field(default_factory=list)
    camera_info_resized: bool = False
    scale: ScaleDecision | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


class FramePipeline:
    """Turns camera messages into output messages with one estimator and one set of output settings.

    `settings` may be replaced between frames (run-time parameter changes). `compressed` says whether
    the messages are `CompressedImage`. `max_input_pixels` (>= 1, checked where it enters: the node's
    parameter range, `EvalConfig`) is the largest image decoded. `scale` tracks this stream's metric scale
    (default: `auto`).
    """

    def __init__(
        self,
        estimator: DepthEstimator,
        settings: OutputSettings,
        compressed: bool = False,
        max_input_pixels: int = DEFAULT_MAX_INPUT_PIXELS,
        scale: ScaleTracker | None = None,
    ) -> None:
        self.estimator = estimator
        self.settings = settings
        self.compressed = compressed
        self.max_input_pixels = max_input_pixels
        self.scale = scale or ScaleTracker(relative_model=estimator.info.relative)

    def process(
        self,
        msg: Any,
        camera_info: CameraInfo | None,
        wanted: Collection[str] = ON_DEMAND_OUTPUTS,
        inputs: ScaleInputs | None = None,
    ) -> FrameOutcome:
        """Run one frame (see the module docstring); never raises for bad input or a failing backend."""
        outcome = FrameOutcome()
        timings = outcome.timings
        start = time.perf_counter()
        try:
            if self.compressed:
                rgb = compressed_msg_to_rgb(msg, self.max_input_pixels)
            else:
                rgb = image_msg_to_rgb(msg, self.max_input_pixels)
        except Exception as error:  # any decoder failure costs this frame only
            cause = "bad_input" if isinstance(error, ImageTooLargeError) else "decode"
            outcome.failure = FrameFailure(cause, _describe(error))
            return outcome
        outcome.rgb = rgb
        timings.decode_ms = (time.perf_counter() - start) * 1e3
        height, width = rgb.shape[:2]
        camera = None
        if camera_info is not None:
            try:
                info, intrinsics, outcome.camera_info_resized = camera_info_for_image(
                    camera_info, msg.header, width, height
                )
                camera = (info, intrinsics)
            except Exception as error:  # an unusable camera_info costs camera_info and points
                outcome.problems.append(
                    FrameFailure("camera_info", f"{_describe(error)} (for a {width}x{height} image)")
                )
        try:
            result = self.estimator.predict(
                rgb, fx=_focal(camera), uncertainty=self.settings.publish_uncertainty
            )
        except Exception as error:  # a backend failure must never stop the caller
            outcome.failure = FrameFailure("backend", _describe(error))
            return outcome
        timings.preprocess_ms = result.timings.preprocess_ms
        timings.inference_ms = result.timings.inference_ms
        timings.postprocess_ms = result.timings.postprocess_ms
        started_scale = time.perf_counter()
        outcome.model_depth = result.depth
        decision = outcome.scale = self._scale(result.depth, msg.header, camera, inputs or ScaleInputs())
        if decision.scale is None:
            outcome.failure = FrameFailure("scale", decision.reason)
            return outcome
        settings = self.settings
        factor = np.float32(decision.scale)
        # Scaled into a new array (model_depth stays the model's) that the depth message takes as it is.
        depth = np.multiply(result.depth, factor, out=message_array(result.depth.shape))
        if not _limits_cut_nothing(result.bounds, factor, settings.min_depth, settings.max_depth):
            invalidate(depth, settings.min_depth, settings.max_depth)
        uncertainty = result.uncertainty
        if uncertainty is not None and decision.scale != 1.0:
            uncertainty = uncertainty * (factor * factor)  # a variance scales with the square
        started_outputs = time.perf_counter()
        timings.scale_ms = (started_outputs - started_scale) * 1e3
        outcome.depth = depth
        try:
            outcome.messages = build_image_outputs(depth, uncertainty, msg.header, camera, settings, wanted)
            started_cloud = time.perf_counter()
            timings.outputs_ms = (started_cloud - started_outputs) * 1e3
            cloud = build_cloud(rgb, depth, msg.header, camera, settings, wanted)
        except Exception as error:  # an output failure costs this frame only
            outcome.failure = FrameFailure("output", _describe(error))
            return outcome
        if cloud is not None:
            outcome.messages["points"] = cloud
            timings.cloud_ms = (time.perf_counter() - started_cloud) * 1e3
        return outcome

    def _scale(
        self,
        depth: np.ndarray,
        header: Any,
        camera: tuple[CameraInfo, CameraIntrinsics] | None,
        inputs: ScaleInputs,
    ) -> ScaleDecision:
        context = FrameContext(
            stamp_ns=int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec),
            intrinsics=None if camera is None else camera[1],
            mount=inputs.mount,
            sparse_depth=inputs.sparse_depth,
            range_reading=inputs.range_reading,
        )
        return self.scale.update(depth, context)


def _limits_cut_nothing(bounds: tuple[float, float], factor: np.float32, low: float, high: float) -> bool:
    """Whether `invalidate(depth * factor, low, high)` would leave depth predicted within `bounds` as it
    is (the default limits, 0 and none, after a metric model's range check): a float32 product with a
    positive factor is monotonic, so the bounds' products decide (compared exactly: as conservative as
    `invalidate`'s float32 comparisons)."""
    largest = float(np.finfo(np.float32).max)
    if not factor > 0 or math.isnan(low) or math.isnan(high):
        return False
    with np.errstate(over="ignore"):
        lowest = np.float32(bounds[0]) * factor
        highest = np.float32(min(bounds[1], largest)) * factor
    return float(lowest) >= low and float(highest) <= min(high, largest)


def _focal(camera: tuple[CameraInfo, CameraIntrinsics] | None) -> float | None:
    return None if camera is None else camera[1].fx


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
