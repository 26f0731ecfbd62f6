"""disdepth depth node: camera image in, metric depth, camera_info, colorized depth and point cloud out.

A plain `rclpy.node.Node` (not a lifecycle node) that is active as soon as it is constructed
(autostart): the model is loaded in the constructor, so a bad model path fails at start-up with a clear
message instead of at the first frame.

Subscriptions (best-effort sensor-data QoS, depth 1): `image` (sensor_msgs/Image) or `image/compressed`
(CompressedImage) when `use_compressed` is true, and `camera_info` (latest one cached). Inference runs in
a worker thread fed through a single-slot mailbox: the newest frame wins, frames replaced before
processing are counted as dropped, so latency stays bounded. Each frame goes through the one
`disdepth_ros.pipeline.FramePipeline`; a frame that fails is counted per cause, logged (throttled per
cause) and dropped, and the node keeps serving.

Publications (reliable by default, `qos_reliability` and per-topic `qos_overrides` apply), all with the
input image's header (REP 118 depth, organized cloud in the optical frame): `depth/image` (32FC1 metres,
NaN invalid), `depth/image_mm` (16UC1, 0 invalid), `depth/camera_info`, `depth/colorized` (bgr8),
`depth/uncertainty` (32FC1 m^2), `points` (PointCloud2), and `/diagnostics` at 1 Hz.

Run: `ros2 run disdepth depth_node --ros-args --params-file config/depth.yaml`
or `python -m disdepth_ros.depth_node --ros-args --params-file config/depth.yaml`.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import rclpy
from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import InvalidParameterTypeException, ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from disdepth_core.deployment import open_estimator
from disdepth_core.runtime import DepthEstimator, ModelFileError
from disdepth_core.serving.failures import FrameFailure
from disdepth_core.serving.health import Assessment, NodeHealth
from disdepth_core.serving.mailbox import LatestMailbox
from disdepth_ros.conversions import camera_info_to_intrinsics
from disdepth_ros.outputs import ON_DEMAND_OUTPUTS, OUTPUT_TOPICS
from disdepth_ros.params import PARAMETERS, descriptor, output_settings, runtime_options, validate_parameters
from disdepth_ros.pipeline import FrameOutcome, FramePipeline

__all__ = ["DEFAULT_MODEL_FILE", "DepthNode", "main", "resolve_model_path"]

DEFAULT_MODEL_FILE = "disdepth_default.onnx"
INPUT_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.BEST_EFFORT,
    durability=DurabilityPolicy.VOLATILE,
)
INPUT_QOS_TEXT = "best_effort, keep_last 1, volatile"
_LOG_THROTTLE_S = 5.0
HEALTH_CHECK_PERIOD_S = 0.25
DIAGNOSTICS_PERIOD_S = 1.0
CONSOLE_THROTTLE_S = 10.0
DIAGNOSTIC_LEVELS = {
    "OK": DiagnosticStatus.OK,
    "WARN": DiagnosticStatus.WARN,
    "ERROR": DiagnosticStatus.ERROR,
}


def resolve_model_path(model_path: str) -> Path:
    """The model file to load: `model_path` if given, else the shipped default model.

    The default is looked up in `share/disdepth/models/` of the ament index (a colcon workspace, or any
    prefix on AMENT_PREFIX_PATH), then of this Python environment's prefix (a pip install, where
    AMENT_PREFIX_PATH may be unset), then in the source tree's `models/`. Raises FileNotFoundError saying
    how to pass a model or export one.
    """
    how = (
        "pass one with `--ros-args -p model_path:=/path/to/model.onnx` (launch: model_path:=...) or export "
        "one with `disdepth export` into models/ and reinstall the package"
    )
    if model_path:
        path = Path(model_path).expanduser()
        if path.is_dir():
            raise FileNotFoundError(f"model_path {str(path)!r} is a directory, not a model file; {how}")
        if not path.is_file():
            raise FileNotFoundError(f"model_path {str(path)!r} does not exist; {how}")
        return path
    shares = []
    # OSError: AMENT_PREFIX_PATH unset (a plain venv without a sourced workspace).
    with contextlib.suppress(PackageNotFoundError, ValueError, OSError):
        shares.append(Path(get_package_share_directory("disdepth")))
    shares += [Path(sys.prefix) / "share" / "disdepth", Path(__file__).resolve().parents[1]]
    candidates = list(dict.fromkeys(share / "models" / DEFAULT_MODEL_FILE for share in shares))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no model_path given and no shipped model found (looked in {looked}); {how}")


class DepthNode(Node):
    """Monocular metric depth node (see the module docstring for topics, QoS and behaviour)."""

    def __init__(self, node_name: str = "depth_node", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        for name, spec in PARAMETERS.items():
            self.declare_parameter(name, spec.default, descriptor(name, spec))
        values = {name: self.get_parameter(name).value for name in PARAMETERS}
        problem = validate_parameters(values)
        if problem:
            raise ValueError(f"invalid parameter: {problem}")

        self.model_path = resolve_model_path(values["model_path"])
        self.estimator: DepthEstimator = open_estimator(self.model_path, runtime_options(values))
        self.get_logger().info(f"loaded {self.model_path}: {self.estimator.describe()}")
        self._use_compressed = bool(values["use_compressed"])
        self.pipeline = FramePipeline(
            self.estimator,
            output_settings(values, self.estimator.info),
            compressed=self._use_compressed,
            max_input_pixels=int(values["max_input_pixels"]),
        )
        self._stale_timeout = float(values["stale_input_timeout"])
        self._output_timeout = float(values["output_timeout"])

        self.health = NodeHealth()
        self._started = time.monotonic()
        self._mailbox: LatestMailbox[tuple[Image | CompressedImage, float]] = LatestMailbox()
        self._camera_info: CameraInfo | None = None

        reliability = (
            ReliabilityPolicy.RELIABLE
            if values["qos_reliability"] == "reliable"
            else ReliabilityPolicy.BEST_EFFORT
        )
        output_qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=reliability)
        self._output_pubs = {
            name: self.create_publisher(
                msg_type,
                topic,
                output_qos,
                qos_overriding_options=QoSOverridingOptions.with_default_policies(),
            )
            for name, (topic, msg_type) in OUTPUT_TOPICS.items()
        }
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)

        if self._use_compressed:
            self._image_sub = self.create_subscription(
                CompressedImage, "image/compressed", self._on_image, INPUT_QOS
            )
        else:
            self._image_sub = self.create_subscription(Image, "image", self._on_image, INPUT_QOS)
        self._info_sub = self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, INPUT_QOS)
        self._last_diagnostics = (0.0, "")  # (monotonic time, level) of the last /diagnostics message
        self._diagnostics_timer = self.create_timer(HEALTH_CHECK_PERIOD_S, self._check_health)
        # Registered last: publishers declare their qos_overrides parameters above, and those
        # declarations must not go through this callback.
        self.add_on_set_parameters_callback(self._on_set_parameters)

        self._worker_error = self._worker_traceback = ""
        self._worker = self._start_worker()

    # -- parameters -------------------------------------------------------------------------------
    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        values = {name: self.get_parameter(name).value for name in PARAMETERS}
        values.update({p.name: p.value for p in parameters if p.name in PARAMETERS})
        try:
            problem = validate_parameters(values)
            if problem is None:
                settings = output_settings(values, self.estimator.info)
        except ValueError as error:
            problem = str(error)
        if problem is not None:
            return SetParametersResult(successful=False, reason=problem)
        self.pipeline.settings = settings
        self._stale_timeout = float(values["stale_input_timeout"])
        self._output_timeout = float(values["output_timeout"])
        return SetParametersResult(successful=True)

    # -- callbacks (executor thread) --------------------------------------------------------------
    def _on_image(self, msg: Image | CompressedImage) -> None:
        now = time.monotonic()
        self.health.image_received(now)
        self._mailbox.put((msg, now))

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.health.camera_info_received(time.monotonic())
        try:
            camera_info_to_intrinsics(msg)
        except Exception as error:  # a malformed camera_info must not stop the executor
            self._report(
                FrameFailure("camera_info", f"ignoring camera_info on {self._info_sub.topic_name}: {error}")
            )
            return
        self._camera_info = msg

    # -- inference worker -------------------------------------------------------------------------
    def _start_worker(self) -> threading.Thread:
        worker = threading.Thread(target=self._work, name="disdepth-inference", daemon=True)
        worker.start()
        return worker

    def _work(self) -> None:
        try:
            while True:
                item = self._mailbox.get(timeout=0.5)
                if item is None:
                    if self._mailbox.closed:
                        return
                    continue
                try:
                    self._process(*item)
                except Exception as error:  # anything outside the pipeline (publishing) costs one frame
                    self._report(FrameFailure("output", f"{type(error).__name__}: {error}"))
        except BaseException as error:  # the supervisor (_check_health) restarts the worker, reports ERROR
            self._worker_error = f"{type(error).__name__}: {error}"
            self._worker_traceback = traceback.format_exc()

    def _process(self, msg: Image | CompressedImage, received: float) -> None:
        camera_info = self._camera_info
        subscribed = {
            name for name in ON_DEMAND_OUTPUTS if self._output_pubs[name].get_subscription_count() > 0
        }
        outcome = self.pipeline.process(msg, camera_info, subscribed)
        for problem in outcome.problems:
            self._report(problem)
        if outcome.failure is not None:
            self._report(outcome.failure)
            return
        self._warn_about_camera_info(camera_info, outcome)
        for name, out in outcome.messages.items():
            self._output_pubs[name].publish(out)
        now = time.monotonic()
        self.health.frame_published(now, outcome.timings.inference_ms, (now - received) * 1e3)

    def _report(self, failure: FrameFailure) -> None:
        """Count `failure` and log it, throttled per cause (never more than one line per cause per 5 s)."""
        line = self.health.failures.record(failure, time.monotonic())
        if line is not None:
            self.get_logger().error(f"{line}; frame dropped" if failure.cause != "camera_info" else line)

    def _warn_about_camera_info(self, camera_info: CameraInfo | None, outcome: FrameOutcome) -> None:
        logger = self.get_logger()
        info = self.estimator.info
        if camera_info is None and info.camera_aware:
            logger.warning(
                f"{info.name} is camera-aware but no camera_info arrived on {self._info_sub.topic_name}: "
                f"using its training focal length ({info.canonical_focal_px:g} px at "
                f"{self.estimator.input_hw[1]} px width); metric scale is only right for that camera",
                once=True,
            )
        if camera_info is None:
            logger.warning(
                f"no valid camera_info yet on {self._info_sub.topic_name}: publishing depth without "
                "depth/camera_info and points",
                throttle_duration_sec=_LOG_THROTTLE_S,
            )
        elif outcome.camera_info_resized and outcome.rgb is not None:
            logger.warning(
                f"camera_info is {camera_info.width}x{camera_info.height} but the image is "
                f"{outcome.rgb.shape[1]}x{outcome.rgb.shape[0]}: scaling K and P to the image",
                throttle_duration_sec=_LOG_THROTTLE_S,
            )

    # -- health and diagnostics ---------------------------------------------------------------------
    def _check_health(self) -> None:
        """Supervise the worker, assess health (4 Hz), publish /diagnostics at 1 Hz and on level changes,
        and say on the console when the node stops being healthy (throttled)."""
        now = time.monotonic()
        if not self._worker.is_alive() and not self._mailbox.closed:
            reason = self._worker_error or "exited"
            self.health.worker_restarted(now, reason)
            self.get_logger().error(
                f"inference worker died ({reason}); restarting it\n{self._worker_traceback}"
            )
            self._worker_error = self._worker_traceback = ""
            self._worker = self._start_worker()
        assessment = self.health.assess(
            now,
            self._started,
            self._output_timeout,
            self._stale_timeout,
            [
                ("image", self._image_sub.topic_name, self.health.last_image),
                ("camera_info", self._info_sub.topic_name, self.health.last_camera_info),
            ],
            INPUT_QOS_TEXT,
        )
        last_time, last_level = self._last_diagnostics
        if assessment.level != last_level or now - last_time >= DIAGNOSTICS_PERIOD_S:
            self._publish_diagnostics(now, assessment)
            self._last_diagnostics = (now, assessment.level)
        logger = self.get_logger()
        if assessment.level == "ERROR":
            logger.error(assessment.message, throttle_duration_sec=CONSOLE_THROTTLE_S)
        elif assessment.level == "WARN":
            logger.warning(assessment.message, throttle_duration_sec=CONSOLE_THROTTLE_S)
        elif last_level in ("WARN", "ERROR"):
            logger.info(f"healthy again: {assessment.message}")

    def _publish_diagnostics(self, now: float, assessment: Assessment) -> None:
        values = self.health.snapshot(now, self._mailbox.dropped)
        info = self.estimator.info
        values.update(
            {
                "model": info.name,
                "model path": str(self.model_path),
                "backend": self.estimator.backend.name,
                "provider": str(self.estimator.backend.provider),
                "image topic": self._image_sub.topic_name,
                "camera_info topic": self._info_sub.topic_name,
                "input QoS": INPUT_QOS_TEXT,
                "worker restarts": str(self.health.worker_restarts),
            }
        )
        node = self.get_fully_qualified_name()
        status = DiagnosticStatus(
            level=DIAGNOSTIC_LEVELS[assessment.level],
            name=f"{node}: depth estimation",
            message=assessment.message,
            hardware_id=f"{node} ({info.name})",
            values=[KeyValue(key=key, value=value) for key, value in values.items()],
        )
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics_pub.publish(array)

    @property
    def dropped_frames(self) -> int:
        """Frames replaced in the mailbox before the worker took them (newest frame wins)."""
        return self._mailbox.dropped

    def destroy_node(self) -> None:
        """Stop the inference worker, then destroy the node."""
        self._mailbox.close()
        if self._worker.is_alive():
            self._worker.join(timeout=5.0)
        super().destroy_node()


def startup_error(error: BaseException) -> str:
    """The one line a user sees when the node cannot start (no traceback), with what to do."""
    if isinstance(error, InvalidParameterTypeException):
        return (
            f"{error}; in a params file a whole number such as `5` is an integer: write `5.0` for a "
            "double parameter (the expected type is in config/depth.yaml)"
        )
    return str(error)


def main(args: list[str] | None = None) -> int:
    """Console entry point `depth_node`; returns a process exit code."""
    rclpy.init(args=args)
    try:
        try:
            node = DepthNode()
        except (OSError, ModelFileError, ValueError, RuntimeError, ParameterException) as error:
            rclpy.logging.get_logger("depth_node").fatal(startup_error(error))
            return 1
        try:
            rclpy.spin(node)
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        finally:
            node.destroy_node()
    finally:
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
