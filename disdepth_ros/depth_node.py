"""disdepth depth node: camera image in, metric depth, camera_info, colorized depth and point cloud out.

A managed (lifecycle) node, REP 2 / ROS 2 managed-node design: `configure` loads the model (and fails
cleanly: the node stays unconfigured and says why), `activate` subscribes and starts inference,
`deactivate` stops both, `cleanup` releases the model. With `autostart` (the default) the node
configures and activates itself at start-up, so users who do not drive transitions get a plain node that
works at once, and a bad model path stops it with one line.

Subscriptions (`disdepth_ros.input_qos`: reliability matched to the camera publisher, keep-last 1,
overridable through `qos_overrides.<topic>.subscription.*`): `image` (sensor_msgs/Image) or
`image/compressed` (CompressedImage) when `use_compressed` is true, `camera_info` (latest one cached),
`sparse_depth` (Image, 32FC1 m / 16UC1 mm) when `scale_source` is auto or sparse_depth, and `range`
(sensor_msgs/Range) when it is range. The metric scale (`scale_source`, `disdepth_core.scale`) uses the
camera mount from parameters or TF (`disdepth_ros.node_scale`); /diagnostics (`disdepth_ros.node_diagnostics`)
says which scale is in force and why. Inference runs in a worker thread fed through a single-slot
mailbox: the newest frame wins, frames replaced before processing are counted as dropped, so latency
stays bounded. Each frame goes through the one
`disdepth_ros.pipeline.FramePipeline`; a frame that fails is counted per cause, logged (throttled per
cause) and dropped, and the node keeps serving.

Publications (lifecycle publishers; reliable by default, `qos_reliability` and per-topic
`qos_overrides` apply), all with the input image's header (REP 118 depth, organized cloud in the optical
frame): `depth/image` (32FC1 metres, NaN invalid), `depth/image_mm` (16UC1, 0 invalid),
`depth/camera_info`, `depth/colorized` (bgr8), `depth/uncertainty` (32FC1 m^2), `points`
(PointCloud2), and `/diagnostics` (1 Hz and on level changes, in every lifecycle state).

Run: `ros2 run disdepth depth_node --ros-args --params-file config/depth.yaml`
or `python -m disdepth_ros.depth_node --ros-args --params-file config/depth.yaml`; `depth_node --help`.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.signals import SignalHandlerOptions
from rclpy.utilities import remove_ros_args
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, Range

from disdepth_core import interrupts
from disdepth_core.bags import stamp_ns
from disdepth_core.runtime import DepthEstimator, ModelFileError
from disdepth_core.scale import AUTO, ScaleTracker
from disdepth_core.scale.mount_source import MountSource
from disdepth_core.serving.failures import FrameFailure
from disdepth_core.serving.health import Assessment, NodeHealth
from disdepth_core.serving.mailbox import LatestMailbox
from disdepth_core.serving.stamp_gaps import StampGapCounter
from disdepth_ros.conversions import camera_info_to_intrinsics
from disdepth_ros.input_qos import MatchedSubscription
from disdepth_ros.node_diagnostics import diagnostic_array, model_values, scale_values
from disdepth_ros.node_help import help_text
from disdepth_ros.node_model import load_model
from disdepth_ros.node_scale import NodeScaleInputs
from disdepth_ros.outputs import ON_DEMAND_OUTPUTS, OUTPUT_TOPICS, output_qos
from disdepth_ros.params import (
    PARAMETERS,
    descriptor,
    output_settings,
    start_up_options,
    validate_parameters,
)
from disdepth_ros.pipeline import FrameOutcome, FramePipeline
from disdepth_ros.scale_inputs import SensorInputs
from disdepth_ros.startup_errors import ros_arguments_error, startup_error

__all__ = ["DepthNode", "main"]

_LOG_THROTTLE_S = 5.0
HEALTH_CHECK_PERIOD_S = 0.25
DIAGNOSTICS_PERIOD_S = 1.0
CONSOLE_THROTTLE_S = 10.0
QOS_MATCH_PERIOD_S = 1.0
STOP_POLL_S = 0.1  # how often the spin loop looks for SIGINT/SIGTERM


class DepthNode(LifecycleNode):
    """Monocular metric depth node (see the module docstring for topics, QoS and behaviour).

    Raises ValueError (invalid parameters) or the configure error (model) at construction when
    `autostart` is true, so a plain launch fails with one line.
    """

    def __init__(self, node_name: str = "depth_node", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        for name, spec in PARAMETERS.items():
            self.declare_parameter(name, spec.default, descriptor(name, spec))
        values = self._values()
        self._runtime = start_up_options(values)
        self._stale_timeout = float(values["stale_input_timeout"])
        self._output_timeout = float(values["output_timeout"])
        self.health = NodeHealth()
        self.stamp_gaps = StampGapCounter()
        self._started = time.monotonic()
        self._camera_info: CameraInfo | None = None
        self._sensors = SensorInputs()
        self.model_path: Path | None = None
        self.estimator: DepthEstimator | None = None
        self.pipeline: FramePipeline | None = None
        self.scale: ScaleTracker | None = None
        self._scale_inputs: NodeScaleInputs | None = None
        self._output_pubs: dict[str, Any] = {}
        self._inputs: dict[str, MatchedSubscription] = {}
        self._mailbox: LatestMailbox[tuple[Image | CompressedImage, float]] = LatestMailbox()
        self._worker: threading.Thread | None = None
        self._worker_error = self._worker_traceback = ""
        self._configure_error: BaseException | None = None
        self._active = False
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._last_diagnostics = (0.0, "")  # (monotonic time, level) of the last /diagnostics message
        self._health_timer = self.create_timer(HEALTH_CHECK_PERIOD_S, self._check_health)
        self._qos_timer = self.create_timer(QOS_MATCH_PERIOD_S, self._match_input_qos)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        # autostart: a configure error is raised by the constructor (the caller says it once), not logged
        self._log_configure_errors = not values["autostart"]
        if values["autostart"]:
            self.trigger_configure()
            self._log_configure_errors = True
            if self._configure_error is not None:
                raise self._configure_error
            self.trigger_activate()

    def _values(self) -> dict[str, Any]:
        return {name: self.get_parameter(name).value for name in PARAMETERS}

    # -- lifecycle transitions ----------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load the model and create the output publishers; on failure stay unconfigured, say why."""
        values = self._values()
        self._configure_error = None
        try:
            loaded = load_model(values, self._runtime)
        except (OSError, ModelFileError, ValueError, RuntimeError) as error:
            self._configure_error = error
            if self._log_configure_errors:
                self.get_logger().error(f"configure failed: {startup_error(error)}")
            return TransitionCallbackReturn.FAILURE
        estimator = self.estimator = loaded.estimator
        self.model_path, self.pipeline, self.scale = loaded.path, loaded.pipeline, loaded.tracker
        self._scale_inputs = NodeScaleInputs(self, values, self._sensors)
        logger = self.get_logger()
        logger.info(f"loaded {self.model_path}: {estimator.describe()}")
        logger.info(f"scale_source={values['scale_source']}; {self._scale_inputs.mount_source.note}")
        warning = self._scale_inputs.model_scale_warning(estimator.info)
        if warning is not None:
            logger.warning(warning)
        qos = output_qos(values["qos_reliability"])
        overriding = QoSOverridingOptions.with_default_policies()
        self._output_pubs = {
            name: self.create_lifecycle_publisher(msg_type, topic, qos, qos_overriding_options=overriding)
            for name, (topic, msg_type) in OUTPUT_TOPICS.items()
        }
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Subscribe to the camera (QoS matched to its publisher) and start the inference worker."""
        values = self._values()
        source = values["scale_source"]
        try:
            if values["use_compressed"]:
                self._inputs["image"] = MatchedSubscription(
                    self, CompressedImage, "image/compressed", self._on_image
                )
            else:
                self._inputs["image"] = MatchedSubscription(self, Image, "image", self._on_image)
            self._inputs["camera_info"] = MatchedSubscription(
                self, CameraInfo, "camera_info", self._on_camera_info
            )
            if source in (AUTO, "sparse_depth"):
                self._inputs["sparse_depth"] = MatchedSubscription(
                    self, Image, "sparse_depth", self._on_sparse_depth
                )
            if source == "range":
                self._inputs["range"] = MatchedSubscription(self, Range, "range", self._on_range)
        except (ValueError, ParameterException) as error:
            self.get_logger().error(f"activate failed: {error}")
            self._destroy_inputs()
            return TransitionCallbackReturn.FAILURE
        self._mailbox = LatestMailbox()
        self._worker = self._start_worker()
        self._active = True
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop listening and inferring; the model stays loaded."""
        self._active = False
        self._destroy_inputs()
        self._stop_worker()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release the model and the output publishers."""
        for publisher in self._output_pubs.values():
            self.destroy_lifecycle_publisher(publisher)
        self._output_pubs = {}
        self.estimator = self.pipeline = self.scale = self._scale_inputs = None
        self._camera_info = None
        self._sensors.clear()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._active = False
        self._destroy_inputs()
        self._stop_worker()
        return TransitionCallbackReturn.SUCCESS

    def _destroy_inputs(self) -> None:
        for matched in self._inputs.values():
            self.destroy_subscription(matched.subscription)
        self._inputs = {}

    # -- parameters -------------------------------------------------------------------------------
    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        values = self._values()
        values.update({p.name: p.value for p in parameters if p.name in PARAMETERS})
        try:
            problem = validate_parameters(values)
            if problem is None and self.pipeline is not None and self.estimator is not None:
                self.pipeline.settings = output_settings(values, self.estimator.info)
        except ValueError as error:
            problem = str(error)
        if problem is not None:
            return SetParametersResult(successful=False, reason=problem)
        self._stale_timeout = float(values["stale_input_timeout"])
        self._output_timeout = float(values["output_timeout"])
        if self._scale_inputs is not None:
            self._scale_inputs.update(values)
        return SetParametersResult(successful=True)

    # -- callbacks (executor thread) --------------------------------------------------------------
    def _on_image(self, msg: Image | CompressedImage) -> None:
        if not self._active:
            return
        now = time.monotonic()
        self.health.image_received(now)
        self.stamp_gaps.add(stamp_ns(msg.header.stamp))
        self._mailbox.put((msg, now))

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.health.camera_info_received(time.monotonic())
        try:
            camera_info_to_intrinsics(msg)
        except Exception as error:  # a malformed camera_info must not stop the executor
            topic = self._inputs["camera_info"].topic_name if "camera_info" in self._inputs else "camera_info"
            self._report(FrameFailure("camera_info", f"ignoring camera_info on {topic}: {error}"))
            return
        self._camera_info = msg

    def _on_sparse_depth(self, msg: Image) -> None:
        self._sensors.sparse.put(msg, time.monotonic())

    def _on_range(self, msg: Range) -> None:
        self._sensors.ranges.put(msg, time.monotonic())

    def _match_input_qos(self) -> None:
        """Re-match the input QoS to the current publishers (a camera that started later or changed)."""
        for matched in list(self._inputs.values()):
            line = matched.update()
            if line is not None:
                self.get_logger().info(line)

    # -- inference worker -------------------------------------------------------------------------
    def _start_worker(self) -> threading.Thread:
        worker = threading.Thread(
            target=self._work, args=(self._mailbox,), name="disdepth-inference", daemon=True
        )
        worker.start()
        return worker

    def _stop_worker(self) -> None:
        self._mailbox.close()
        if self._worker is not None and self._worker.is_alive():
            self._worker.join(timeout=5.0)
        self._worker = None

    def _work(self, mailbox: LatestMailbox) -> None:
        try:
            while True:
                item = mailbox.get(timeout=0.5)
                if item is None:
                    if mailbox.closed:
                        return
                    continue
                try:
                    self._process(*item)
                except Exception as error:  # anything outside the pipeline (publishing) costs one frame
                    if not self.context.ok():
                        return  # shutting down (Ctrl-C): publishers are gone, nothing to report
                    self._report(FrameFailure("output", f"{type(error).__name__}: {error}"))
        except BaseException as error:  # the supervisor (_check_health) restarts the worker, reports ERROR
            self._worker_error = f"{type(error).__name__}: {error}"
            self._worker_traceback = traceback.format_exc()

    def _process(self, msg: Image | CompressedImage, received: float) -> None:
        pipeline, scale_inputs = self.pipeline, self._scale_inputs
        if pipeline is None or scale_inputs is None:
            return
        camera_info = self._camera_info
        subscribed = {
            name for name in ON_DEMAND_OUTPUTS if self._output_pubs[name].get_subscription_count() > 0
        }
        inputs, sparse_failure = scale_inputs.for_frame(msg.header, pipeline.max_input_pixels)
        if sparse_failure is not None:
            self._report(sparse_failure)
        outcome = pipeline.process(msg, camera_info, subscribed, inputs)
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
        estimator = self.estimator
        info = estimator.info if estimator is not None else None
        topic = self._inputs["camera_info"].topic_name if "camera_info" in self._inputs else "camera_info"
        if camera_info is None and info is not None and info.camera_aware:
            logger.warning(
                f"{info.name} is camera-aware but no camera_info arrived on {topic}: using its training "
                f"focal length ({info.canonical_focal_px:g} px at {estimator.input_hw[1]} px width); metric "
                "scale is only right for that camera",
                once=True,
            )
        if camera_info is None:
            logger.warning(
                f"no valid camera_info yet on {topic}: publishing depth without depth/camera_info and points",
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
        if (
            self._active
            and (self._worker is None or not self._worker.is_alive())
            and not self._mailbox.closed
        ):
            reason = self._worker_error or "exited"
            self.health.worker_restarted(now, reason)
            self.get_logger().error(
                f"inference worker died ({reason}); restarting it\n{self._worker_traceback}"
            )
            self._worker_error = self._worker_traceback = ""
            self._worker = self._start_worker()
        assessment = self._assess(now)
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

    def _assess(self, now: float) -> Assessment:
        if not self._active:
            if self._configure_error is not None:
                return Assessment("ERROR", f"not configured: {startup_error(self._configure_error)}")
            state = "configured" if self.pipeline is not None else "unconfigured"
            return Assessment("OK", f"{state}, not active (lifecycle): no depth is published")
        return self.health.assess(
            now,
            self._started,
            self._output_timeout,
            self._stale_timeout,
            [
                ("image", self._inputs["image"].topic_name, self.health.last_image),
                ("camera_info", self._inputs["camera_info"].topic_name, self.health.last_camera_info),
            ],
            self._inputs["image"].describe(),
        )

    def _publish_diagnostics(self, now: float, assessment: Assessment) -> None:
        values = self.health.snapshot(now, self._mailbox.dropped)
        values["frames lost before the node (stamp gaps)"] = str(self.stamp_gaps.lost)
        values["worker restarts"] = str(self.health.worker_restarts)
        estimator = self.estimator
        values.update(model_values(estimator, self.model_path, self._inputs))
        values.update(scale_values(self.scale.last if self.scale is not None else None, self.mount_source))
        model_name = estimator.info.name if estimator is not None else None
        stamp = self.get_clock().now().to_msg()
        array = diagnostic_array(self.get_fully_qualified_name(), model_name, assessment, values, stamp)
        self._diagnostics_pub.publish(array)

    @property
    def mount_source(self) -> MountSource | None:
        """Where the camera mount comes from (parameters or TF) while configured, else None."""
        return self._scale_inputs.mount_source if self._scale_inputs is not None else None

    @property
    def dropped_frames(self) -> int:
        """Frames replaced in the mailbox before the worker took them (newest frame wins)."""
        return self._mailbox.dropped

    def destroy_node(self) -> None:
        """Stop the inference worker, then destroy the node."""
        self._active = False
        self._stop_worker()
        super().destroy_node()


def _spin_until_stopped(node: DepthNode) -> None:
    """Spin `node` until SIGINT/SIGTERM (recorded by `interrupts.record`) or an external shutdown.

    The signal only sets a flag; the loop sees it between callbacks, so no callback is cut short and the
    context stays valid until the node (timers, worker, publishers) is gone.
    """
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    try:
        while not interrupts.requested():
            executor.spin_once(timeout_sec=STOP_POLL_S)
    except ExternalShutdownException:
        pass
    finally:
        executor.shutdown()


def main(args: list[str] | None = None) -> int:
    """Console entry point `depth_node`; returns a process exit code (0 after SIGINT/SIGTERM).

    rclpy's own signal handlers shut the context down from another thread while callbacks still run
    (a diagnostics publish then fails with RCLError, exit 1); here SIGINT/SIGTERM only ask the spin loop
    to stop, and the node stops in order: spinning, then the worker, then its entities, then the context.
    """
    argv = sys.argv if args is None else args
    logger = rclpy.logging.get_logger("depth_node")
    try:
        if {"-h", "--help"} & set(remove_ros_args(argv)[1:]):
            print(help_text())
            return 0
    except rclpy_implementation.RCLError as error:  # rcl parses the ROS arguments and params files here
        logger.fatal(ros_arguments_error(error, argv))
        return 1
    interrupts.clear()
    previous = {sig: signal.signal(sig, interrupts.record) for sig in (signal.SIGINT, signal.SIGTERM)}
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    try:
        try:
            node = DepthNode()
        except (OSError, ModelFileError, ValueError, RuntimeError, ParameterException) as error:
            logger.fatal(startup_error(error))
            return 1
        try:
            _spin_until_stopped(node)
        finally:
            node.destroy_node()
    finally:
        rclpy.try_shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
