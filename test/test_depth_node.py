"""The depth node end to end with real rclpy and a real (tiny, untrained) ONNX model.

The node and a test node run in-process on one executor spinning in a thread; each test publishes
images/camera_info and waits for the node's outputs with the matching stamp.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable

import cv2
import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from runtime_fixtures import tiny_onnx
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

from disdepth_core.geometry import depth_to_points
from disdepth_core.image_encodings import decode_compressed
from disdepth_core.serving.health import EventRate, LatencyWindow
from disdepth_core.serving.mailbox import LatestMailbox
from disdepth_ros.conversions import camera_info_to_intrinsics
from disdepth_ros.depth_node import DepthNode
from disdepth_ros.executors import SpinningExecutors
from disdepth_ros.model_path import resolve_model_path
from disdepth_ros.params import PARAMETERS

H, W = 96, 128
TIMEOUT = 20.0
RELIABLE = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)


def _scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An RGB test image and its K (synthetic renderer when available, else a textured gradient)."""
    try:
        from disdepth_core.data.synthetic import render_scene
    except ImportError:
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:H, 0:W]
        base = np.stack([xx * 255 / W, yy * 255 / H, np.full((H, W), 128.0)], axis=-1)
        image = np.clip(base + rng.normal(0, 20, (H, W, 3)), 0, 255).astype(np.uint8)
        return image, np.array([[100.0, 0, W / 2 - 0.5], [0, 100.0, H / 2 - 0.5], [0, 0, 1]])
    sample = render_scene(seed, H, W, "room")
    return sample["image"], sample["K"].astype(np.float64)


def _image_msg(rgb: np.ndarray, stamp: int, encoding: str = "rgb8", frame_id: str = "cam_optical") -> Image:
    msg = Image(height=rgb.shape[0], width=rgb.shape[1], encoding=encoding, step=rgb.shape[1] * 3)
    msg.header.frame_id, msg.header.stamp.sec = frame_id, stamp
    msg.data = (rgb if encoding == "rgb8" else rgb[..., ::-1]).tobytes()
    return msg


def _info_msg(K: np.ndarray, stamp: int, width: int = W, height: int = H) -> CameraInfo:  # noqa: N803
    msg = CameraInfo(width=width, height=height, distortion_model="plumb_bob", d=[0.0] * 5)
    msg.header.frame_id, msg.header.stamp.sec = "cam_optical", stamp
    msg.k = K.ravel().tolist()
    msg.r = np.eye(3).ravel().tolist()
    msg.p = np.hstack([K, np.zeros((3, 1))]).ravel().tolist()
    return msg


@pytest.fixture(scope="session")
def model_path(tmp_path_factory) -> str:
    return tiny_onnx(tmp_path_factory.mktemp("model") / "tiny_test.onnx")


class Harness:
    """A test node that talks to one DepthNode under test."""

    def __init__(
        self,
        context,
        executors: SpinningExecutors,
        depth_node: DepthNode,
        namespace: str,
        compressed: bool = False,
    ):
        self.node_under_test = depth_node
        self._executors = executors
        self._executor = executors.executors[0]
        self.node = rclpy.create_node(f"probe_{namespace.strip('/')}", context=context)
        self.received: dict[str, list] = defaultdict(list)
        self._lock = threading.Lock()
        image_topic = f"{namespace}/image/compressed" if compressed else f"{namespace}/image"
        image_type = CompressedImage if compressed else Image
        self.image_pub = self.node.create_publisher(image_type, image_topic, qos_profile_sensor_data)
        self.image_pub_reliable = self.node.create_publisher(image_type, image_topic, RELIABLE)
        self.info_pub = self.node.create_publisher(
            CameraInfo, f"{namespace}/camera_info", qos_profile_sensor_data
        )
        for key, topic, msg_type in (
            ("depth", "depth/image", Image),
            ("depth_mm", "depth/image_mm", Image),
            ("camera_info", "depth/camera_info", CameraInfo),
            ("colorized", "depth/colorized", Image),
            ("uncertainty", "depth/uncertainty", Image),
            ("points", "points", PointCloud2),
        ):
            self.node.create_subscription(msg_type, f"{namespace}/{topic}", self._collector(key), RELIABLE)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._collector("diagnostics"), 10)
        self._executor.add_node(self.node)

    def _collector(self, key: str) -> Callable:
        def collect(msg) -> None:
            with self._lock:
                self.received[key].append(msg)

        return collect

    def find(self, key: str, stamp: int):
        with self._lock:
            return next((m for m in self.received[key] if m.header.stamp.sec == stamp), None)

    def publish_until(self, make: Callable[[], None], keys: tuple[str, ...], stamp: int) -> dict:
        """Call `make` (publishes) every 100 ms until every output in `keys` arrived with `stamp`."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            make()
            found = {key: self.find(key, stamp) for key in keys}
            if all(found.values()):
                return found
            time.sleep(0.1)
        with self._lock:
            got = {
                key: sorted({m.header.stamp.sec for m in msgs})
                for key, msgs in self.received.items()
                if key in keys
            }
        self._executors.check()  # a dead spin thread is the reason: raise it
        raise AssertionError(f"no {keys} with stamp {stamp} within {TIMEOUT} s; got stamps {got}")

    def on_executor(self, call: Callable[[], object]) -> object:
        """Run `call` in the executor's thread and return its result.

        Lifecycle transitions destroy subscriptions and publishers; rclpy entities must not be destroyed
        while the spinning thread waits on them (it raises InvalidHandle there and the executor dies), so
        transitions run where `ros2 lifecycle set` would run them: in the executor.
        """

        def run() -> tuple[object, Exception | None]:
            try:
                return call(), None
            except Exception as error:  # raised in the executor it would kill it; re-raised here instead
                return None, error

        task = self._executor.create_task(run)
        deadline = time.monotonic() + TIMEOUT
        while not task.done():
            assert time.monotonic() < deadline, f"the executor did not run {call} within {TIMEOUT} s"
            time.sleep(0.01)
        result, error = task.result()
        if error is not None:
            raise error
        return result

    def node_status(self, predicate: Callable[[DiagnosticStatus], bool] = lambda s: True) -> DiagnosticStatus:
        name = f"{self.node_under_test.get_fully_qualified_name()}: depth estimation"
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with self._lock:
                statuses = [s for a in self.received["diagnostics"] for s in a.status if s.name == name]
            matching = [s for s in statuses if predicate(s) and s.hardware_id]
            if matching and any(
                kv.key == "image topic"
                and kv.value.startswith(self.node_under_test.get_namespace().rstrip("/"))
                for kv in matching[-1].values
            ):
                return matching[-1]
            time.sleep(0.1)
        raise AssertionError(f"no matching diagnostics for {name}")


@pytest.fixture(scope="module")
def ros():
    context = rclpy.Context()
    rclpy.init(context=context)
    executors = SpinningExecutors(context, [[]], name="test-depth-node")  # as depth_node spins
    executor = executors.executors[0]
    nodes: list = []

    def make(namespace: str, compressed: bool = False, **overrides) -> Harness:
        params = {
            "device": "cpu",
            "cloud_stride": 2,
            "publish_depth_mm": True,
            "publish_uncertainty": True,
            "use_compressed": compressed,
            **overrides,
        }
        node = DepthNode(
            context=context,
            namespace=namespace,
            parameter_overrides=[Parameter(k, value=v) for k, v in params.items()],
        )
        executor.add_node(node)
        harness = Harness(context, executors, node, namespace, compressed)
        nodes.extend([node, harness.node])
        return harness

    yield make
    try:
        executors.shutdown()  # raises if the spin thread died during the module's tests
    finally:
        for node in nodes:
            node.destroy_node()
        rclpy.shutdown(context=context)


@pytest.fixture(scope="module")
def raw(ros, model_path):
    return ros("/raw", model_path=model_path, points_rgb=True)


def _depth_array(msg: Image) -> np.ndarray:
    return np.frombuffer(bytes(msg.data), np.float32).reshape(msg.height, msg.width)


def _expected_depth(node: DepthNode, rgb: np.ndarray) -> np.ndarray:
    return node.estimator.predict(rgb).depth  # the node's default limits are the model's range


def test_depth_camera_info_and_cloud(raw):
    rgb, K = _scene(1)
    stamp = 101

    def send():
        raw.info_pub.publish(_info_msg(K, stamp))
        raw.image_pub.publish(_image_msg(rgb, stamp, "bgr8"))

    out = raw.publish_until(
        send, ("depth", "depth_mm", "camera_info", "points", "uncertainty", "colorized"), stamp
    )
    depth_msg, info_msg, cloud = out["depth"], out["camera_info"], out["points"]
    for msg in out.values():
        assert msg.header.frame_id == "cam_optical" and msg.header.stamp.sec == stamp
    assert (depth_msg.encoding, depth_msg.height, depth_msg.width) == ("32FC1", H, W)
    assert out["depth_mm"].encoding == "16UC1" and out["colorized"].encoding == "bgr8"
    depth = _depth_array(depth_msg)
    np.testing.assert_allclose(depth, _expected_depth(raw.node_under_test, rgb), rtol=1e-6, equal_nan=True)
    assert np.isfinite(depth).mean() > 0.9

    assert (info_msg.width, info_msg.height) == (W, H)
    np.testing.assert_allclose(info_msg.k.reshape(3, 3), K)
    assert (cloud.height, cloud.width, cloud.point_step, cloud.is_dense) == (H // 2, W // 2, 32, False)
    points = np.frombuffer(bytes(cloud.data), np.float32).reshape(cloud.height, cloud.width, 8)[..., :3]
    threshold = PARAMETERS["flying_pixel_threshold"].default  # on for clouds by default
    expected = depth_to_points(depth, camera_info_to_intrinsics(info_msg), stride=2, discontinuity=threshold)
    np.testing.assert_allclose(points, expected, rtol=1e-6, equal_nan=True)


def test_camera_info_of_another_size_is_scaled(raw):
    rgb, K = _scene(2)
    stamp = 202
    half = K.copy()
    half[:2] *= 0.5
    half[0, 2], half[1, 2] = (K[0, 2] + 0.5) * 0.5 - 0.5, (K[1, 2] + 0.5) * 0.5 - 0.5

    def send():
        raw.info_pub.publish(_info_msg(half, stamp, W // 2, H // 2))
        raw.image_pub_reliable.publish(_image_msg(rgb, stamp))  # a reliable camera also matches

    info_msg = raw.publish_until(send, ("camera_info",), stamp)["camera_info"]
    assert (info_msg.width, info_msg.height) == (W, H)
    np.testing.assert_allclose(info_msg.k.reshape(3, 3), K, atol=1e-9)


def test_malformed_flood_then_valid_frame(raw):
    rgb, K = _scene(3)
    node = raw.node_under_test
    bad_before = node.health.failures.snapshot()
    bad_info = _info_msg(K, 300)
    bad_info.k[0] = bad_info.p[0] = float("nan")
    bad_images = []
    for encoding in ("not_an_encoding", "32FC1"):
        bad_images.append(_image_msg(rgb, 300, "rgb8"))
        bad_images[-1].encoding = encoding
    truncated = _image_msg(rgb, 300)
    truncated.data = bytes(truncated.data)[:100]
    zero = Image(encoding="rgb8")
    zero.header.stamp.sec = 300
    bad_images += [truncated, zero]
    for _ in range(10):
        raw.info_pub.publish(bad_info)
        for msg in bad_images:
            raw.image_pub_reliable.publish(msg)
            time.sleep(0.01)
    stamp = 303

    def send():
        raw.info_pub.publish(_info_msg(K, stamp))
        raw.image_pub.publish(_image_msg(rgb, stamp))

    out = raw.publish_until(send, ("depth", "points"), stamp)
    after = node.health.failures.snapshot()
    assert after["decode"] >= bad_before["decode"] + 4 and after["camera_info"] > bad_before["camera_info"]
    assert raw.find("depth", 300) is None
    np.testing.assert_allclose(
        _depth_array(out["depth"]), _expected_depth(node, rgb), rtol=1e-6, equal_nan=True
    )


def test_backend_failure_is_counted_and_survived(raw, monkeypatch):
    rgb, _ = _scene(4)
    node = raw.node_under_test
    real_predict = node.estimator.predict
    calls = {"n": 0}

    def flaky(image, fx=None, **options):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated backend failure")
        return real_predict(image, fx, **options)

    monkeypatch.setattr(node.estimator, "predict", flaky)
    stamp = 404
    raw.publish_until(lambda: raw.image_pub.publish(_image_msg(rgb, stamp)), ("depth",), stamp)
    assert node.health.failures.snapshot()["backend"] >= 1


def _status_after(harness: Harness, start: float, predicate) -> DiagnosticStatus | None:
    name = f"{harness.node_under_test.get_fully_qualified_name()}: depth estimation"
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        with harness._lock:
            arrays = list(harness.received["diagnostics"])
        for array in arrays:
            stamp = array.header.stamp.sec + array.header.stamp.nanosec * 1e-9
            for status in array.status:
                if status.name == name and stamp >= start and predicate(status):
                    return status
        time.sleep(0.05)
    return None


def test_output_stopping_escalates_diagnostics_within_2_s(ros, model_path):
    """Valid frames, then only undecodable ones: WARN within 2 s of the last published depth, naming the
    counter that grows; valid frames again: OK."""
    harness = ros("/escalate", model_path=model_path, output_timeout=1.0)
    node = harness.node_under_test
    rgb, _ = _scene(11)
    harness.publish_until(lambda: harness.image_pub.publish(_image_msg(rgb, 900)), ("depth",), 900)
    bad = _image_msg(rgb, 901)
    bad.encoding = "nv21"
    last_published = node.health.last_published
    clock_offset = node.get_clock().now().nanoseconds * 1e-9 - time.monotonic()
    stop = time.monotonic() + 3.0
    while time.monotonic() < stop:
        harness.image_pub_reliable.publish(bad)
        time.sleep(0.05)
    status = _status_after(
        harness,
        last_published + clock_offset,
        lambda s: s.level == DiagnosticStatus.WARN and "decode" in s.message,
    )
    assert status is not None, "no WARN naming the decode failures"
    stamp = None
    with harness._lock:
        for array in harness.received["diagnostics"]:
            if status in array.status:
                stamp = array.header.stamp.sec + array.header.stamp.nanosec * 1e-9 - clock_offset
    assert stamp - last_published < 2.0, f"WARN came {stamp - last_published:.2f} s after output stopped"
    assert "decode failures +" in status.message and "nv21" in status.message


def test_dead_worker_is_restarted_and_reported_as_error(ros, model_path):
    harness = ros("/restart", model_path=model_path)
    node = harness.node_under_test
    rgb, _ = _scene(12)
    real_process = node._process

    def dies_once(msg, received):
        node._process = real_process
        raise SystemExit("simulated worker death")

    node._process = dies_once
    start = node.get_clock().now().nanoseconds * 1e-9
    harness.publish_until(lambda: harness.image_pub.publish(_image_msg(rgb, 950)), ("depth",), 950)
    assert node.health.worker_restarts == 1
    status = _status_after(harness, start, lambda s: s.level == DiagnosticStatus.ERROR)
    assert (
        status is not None and "restarted 1x" in status.message and "simulated worker death" in status.message
    )


def test_diagnostics(raw):
    status = raw.node_status(
        lambda s: int(dict((kv.key, kv.value) for kv in s.values)["frames published"]) > 0
    )
    values = {kv.key: kv.value for kv in status.values}
    for key in (
        "input rate (Hz)",
        "output rate (Hz)",
        "inference latency p50 (ms)",
        "inference latency p95 (ms)",
        "end-to-end latency p50 (ms)",
        "end-to-end latency p95 (ms)",
        "dropped frames",
        "failures: decode",
        "failures: backend",
        "failures: camera_info",
        "backend",
        "provider",
        "model",
        "image topic",
        "camera_info topic",
        "image QoS",
        "camera_info QoS",
        "frames lost before the node (stamp gaps)",
        "worker restarts",
    ):
        assert key in values, key
    # the probe publishes images both best-effort and reliable: a best-effort subscription hears both
    assert values["image QoS"] == "best_effort (auto), keep_last 1, volatile"
    # backend=auto: openvino on a CPU where it is installed, else onnxruntime
    assert (values["backend"], values["provider"].split(" ")[0]) in {
        ("onnxruntime", "CPUExecutionProvider"),
        ("openvino", "CPU"),
    }
    assert values["image topic"] == "/raw/image" and values["camera_info topic"] == "/raw/camera_info"
    assert float(values["inference latency p50 (ms)"]) > 0


def test_runtime_parameters(raw):
    node = raw.node_under_test
    assert not node.set_parameters([Parameter("colormap", value="rainbow-unicorn")])[0].successful
    assert not node.set_parameters([Parameter("cloud_stride", value=0)])[0].successful
    assert not node.set_parameters([Parameter("model_path", value="/elsewhere.onnx")])[0].successful
    bad_range = [Parameter("min_depth", value=9.0), Parameter("max_depth", value=2.0)]
    assert not node.set_parameters_atomically(bad_range).successful
    assert node.set_parameters([Parameter("colormap", value="viridis"), Parameter("cloud_stride", value=4)])[
        0
    ].successful
    rgb, K = _scene(5)
    stamp = 505

    def send():
        raw.info_pub.publish(_info_msg(K, stamp))
        raw.image_pub.publish(_image_msg(rgb, stamp))

    cloud = raw.publish_until(send, ("points",), stamp)["points"]
    assert (cloud.height, cloud.width) == (H // 4, W // 4)
    assert node.set_parameters([Parameter("cloud_stride", value=2)])[0].successful
    declared = set(node._parameters)
    assert set(PARAMETERS) <= declared
    assert any(name.startswith("qos_overrides./raw/depth/image.publisher.reliability") for name in declared)
    assert node.get_parameter("qos_overrides./raw/image.subscription.reliability").value == "auto"


def test_compressed_input(ros, model_path):
    harness = ros("/jpeg", compressed=True, model_path=model_path)
    rgb, K = _scene(6)
    payload = CompressedImage(format="jpeg")
    payload.data = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]))[1].tobytes()
    stamp = 606
    payload.header.stamp.sec, payload.header.frame_id = stamp, "cam_optical"

    def send():
        harness.info_pub.publish(_info_msg(K, stamp))
        harness.image_pub.publish(payload)

    out = harness.publish_until(send, ("depth", "points"), stamp)
    decoded = decode_compressed("jpeg", bytes(payload.data))
    expected = _expected_depth(harness.node_under_test, decoded)
    np.testing.assert_allclose(_depth_array(out["depth"]), expected, rtol=1e-6, equal_nan=True)


def test_stale_input_warning_names_topic_and_qos(ros, model_path):
    harness = ros("/silent", model_path=model_path, stale_input_timeout=0.2)
    status = harness.node_status(lambda s: s.level == DiagnosticStatus.WARN)
    assert "/silent/image" in status.message and "/silent/camera_info" in status.message
    assert "best_effort" in status.message


def test_node_runs_a_dynamic_model_at_240x320(ros, tmp_path):
    """The one input-size rule (multiples of 16) admits the common 240x320 robot resolution."""
    harness = ros(
        "/dyn",
        model_path=tiny_onnx(tmp_path / "dynamic.onnx", dynamic=True),
        input_height=240,
        input_width=320,
    )
    assert harness.node_under_test.estimator.input_hw == (240, 320)
    rgb, K = _scene(7)
    stamp = 707

    def send():
        harness.info_pub.publish(_info_msg(K, stamp))
        harness.image_pub.publish(_image_msg(rgb, stamp))

    out = harness.publish_until(send, ("depth",), stamp)
    assert (out["depth"].height, out["depth"].width) == (H, W)


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="model_path"):
        resolve_model_path(str(tmp_path / "nope.onnx"))


def test_mailbox_newest_wins_and_counts_drops():
    box: LatestMailbox[int] = LatestMailbox()
    assert not box.put(1)
    assert box.put(2) and box.put(3)
    assert box.get(timeout=0) == 3 and box.dropped == 2
    assert box.get(timeout=0.01) is None
    box.close()
    assert box.get() is None and box.closed


def test_rate_and_latency_windows():
    rate = EventRate(window_s=1.0)
    for i in range(11):
        rate.add(10.0 + i * 0.1)
    assert rate.rate(11.0) == pytest.approx(10.0)
    assert rate.rate(13.0) == 0.0
    window = LatencyWindow(size=100)
    assert np.isnan(window.percentile(50))
    for value in range(1, 101):
        window.add(float(value))
    assert window.percentile(50) == pytest.approx(50.5) and window.percentile(95) == pytest.approx(95.05)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["-p", "min_depth:=20.0", "-p", "scale_source:=model"],
            "effective depth range is empty: min_depth 20 m >= max_depth",
        ),
        (["-p", "scale_source:=lidar"], "unknown scale source 'lidar'; choose one of auto, fixed:ARG"),
        (["-p", "camera_height_m:=-1.0"], "camera_height_m"),
        (["-p", "max_depth:=5"], "write `5.0` for a double parameter"),
        (
            ["-p", "device:=tpu"],
            "device must be auto, cpu, cuda or cuda:N (OpenVINO also: gpu, gpu.N, npu), got 'tpu'",
        ),
        (["-p", "device:=cuda"], "device=cuda requested but this onnxruntime build has no GPU provider"),
        (["-p", "backend:=tensorrt"], "TensorRT is not installed"),
        (["-p", "backend:=tflite"], "invalid parameter: backend must be one of auto, "),
        (["-p", "input_height:=240"], "invalid parameter: set both input_height and input_width"),
        # the same check at start-up for a node that waits for a lifecycle manager
        (["-p", "autostart:=false", "-p", "input_width:=320"], "got 0x320"),
        (["-p", "model_path:=/tmp"], "'/tmp' is a directory, not a model file"),
        (["-p", "model_path:=/missing.onnx"], "'/missing.onnx' does not exist; pass a model file"),
        (["--params-file", "missing.yaml"], "params file 'missing.yaml' does not exist (--params-file"),
        (["-p", "min_depth"], "invalid ROS arguments: Failed to parse ROS arguments: Couldn't parse"),
    ],
)
def test_start_up_errors_are_one_line(args, expected, tmp_path):
    """As a user starts it: a bad parameter gives exit status 1 and one line saying what to do."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "ROS_LOG_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "disdepth_ros.depth_node", "--ros-args", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 1, done.stderr
    said = [line for line in done.stderr.splitlines() if expected in line]
    assert len(said) == 1 and "Traceback" not in done.stderr, done.stderr  # said once
    assert "[ERROR]" not in done.stderr and "/project/src" not in done.stderr  # said once, no rcl locations
    fatal = [line for line in done.stderr.splitlines() if "[FATAL]" in line]
    assert len(fatal) == 1, done.stderr


def _wait(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_input_qos_matches_the_camera_publisher_and_honours_overrides(model_path):
    """A reliable-only camera gets a reliable subscription (best-effort loses large frames under Fast DDS),
    a best-effort camera a best-effort one; `qos_overrides./<topic>.subscription.reliability` wins."""
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)  # as depth_node spins (see disdepth_ros.executors)
    made = []
    try:
        auto = DepthNode(
            context=context,
            namespace="/qos_auto",
            parameter_overrides=[Parameter("model_path", value=model_path)],
        )
        fixed = DepthNode(
            context=context,
            namespace="/qos_fixed",
            parameter_overrides=[
                Parameter("model_path", value=model_path),
                Parameter("qos_overrides./qos_fixed/image.subscription.reliability", value="best_effort"),
            ],
        )
        camera = rclpy.create_node("cameras", context=context)
        made += [auto, fixed, camera]
        for node in made:
            executor.add_node(node)
        threading.Thread(target=executor.spin, daemon=True).start()
        assert auto._inputs["image"].describe().startswith("best_effort (auto)")  # no camera yet: hear any
        reliable = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
        camera.create_publisher(Image, "/qos_auto/image", reliable)
        camera.create_publisher(Image, "/qos_fixed/image", reliable)
        camera.create_publisher(CameraInfo, "/qos_auto/camera_info", qos_profile_sensor_data)
        assert _wait(lambda: auto._inputs["image"].describe().startswith("reliable (auto)"))
        assert auto._inputs["camera_info"].describe().startswith("best_effort (auto)")
        assert fixed._inputs["image"].describe().startswith("best_effort (best_effort)")
    finally:
        executor.shutdown()
        for node in made:
            node.destroy_node()
        rclpy.shutdown(context=context)


def test_lifecycle_without_autostart(ros, model_path, tmp_path):
    from rclpy.lifecycle import TransitionCallbackReturn

    harness = ros("/managed", model_path=model_path, autostart=False)
    node = harness.node_under_test
    assert node.estimator is None and not node._inputs  # unconfigured: no model, no subscriptions
    rgb, K = _scene(13)
    assert harness.on_executor(node.trigger_configure) == TransitionCallbackReturn.SUCCESS
    assert node.estimator is not None and not node._inputs
    assert harness.on_executor(node.trigger_activate) == TransitionCallbackReturn.SUCCESS
    stamp = 1300

    def send():
        harness.info_pub.publish(_info_msg(K, stamp))
        harness.image_pub.publish(_image_msg(rgb, stamp))

    harness.publish_until(send, ("depth",), stamp)
    assert harness.on_executor(node.trigger_deactivate) == TransitionCallbackReturn.SUCCESS
    assert not node._inputs
    assert harness.on_executor(node.trigger_cleanup) == TransitionCallbackReturn.SUCCESS
    assert node.estimator is None

    broken_harness = ros("/broken", model_path=str(tmp_path / "missing.onnx"), autostart=False)
    broken = broken_harness.node_under_test
    assert broken_harness.on_executor(broken.trigger_configure) == TransitionCallbackReturn.FAILURE
    assessment = broken._assess(time.monotonic())  # what /diagnostics reports from now on
    assert assessment.level == "ERROR" and "not configured" in assessment.message
    assert "missing.onnx" in assessment.message


def _depth_with_sparse(harness: Harness, sparse: np.ndarray, rgb: np.ndarray, K: np.ndarray, stamp: int):  # noqa: N803
    """Publish `sparse` (32FC1) on the node's `sparse_depth`, then camera_info and image, until the depth
    with `stamp` comes back; returns it."""
    node = harness.node_under_test
    sensor = harness.node.create_publisher(Image, f"{node.get_namespace()}/sparse_depth", RELIABLE)

    def send():
        msg = Image(height=sparse.shape[0], width=sparse.shape[1], encoding="32FC1", step=sparse.shape[1] * 4)
        msg.data = sparse.tobytes()
        msg.header.stamp.sec = stamp
        sensor.publish(msg)
        time.sleep(0.05)
        harness.info_pub.publish(_info_msg(K, stamp))
        harness.image_pub.publish(_image_msg(rgb, stamp))

    return _depth_array(harness.publish_until(send, ("depth",), stamp)["depth"])


def test_sparse_depth_anchors_the_metric_scale(ros, model_path):
    """A sensor reporting depth 1.5x the prediction rescales the published depth, and the scale and its
    source show in diagnostics."""
    harness = ros("/anchored", model_path=model_path, scale_source="sparse_depth", scale_smoothing=1.0)
    node = harness.node_under_test
    rgb, K = _scene(14)
    reference = _expected_depth(node, rgb)
    sparse = np.zeros((H // 4, W // 4), np.float32)
    sparse[::2, ::2] = 1.5 * reference[2::8, 2::8][: sparse[::2, ::2].shape[0], : sparse[::2, ::2].shape[1]]
    stamp = 1400

    depth = _depth_with_sparse(harness, sparse, rgb, K, stamp)
    ratio = np.nanmedian(depth / reference)
    assert ratio == pytest.approx(1.5, rel=0.02)
    assert node.scale.scale == pytest.approx(1.5, rel=0.02)
    status = harness.node_status(
        lambda s: "sparse_depth" in {kv.key: kv.value for kv in s.values}.get("scale source", "")
    )
    values = {kv.key: kv.value for kv in status.values}
    assert float(values["metric scale"]) == pytest.approx(1.5, rel=0.02)
    assert "sensor/prediction ratios" in values["scale reason"] or "holding" in values["scale reason"]


def test_oversized_sparse_depth_is_refused_and_the_frame_still_published(ros, model_path):
    """A sparse depth image larger than `max_input_pixels` is not decoded: counted as bad input, the
    depth goes out unanchored."""
    harness = ros("/oversized", model_path=model_path, scale_source="sparse_depth", max_input_pixels=H * W)
    node = harness.node_under_test
    rgb, K = _scene(15)
    sparse = np.full((H + 8, W), 2.0, np.float32)
    stamp = 1500

    depth = _depth_with_sparse(harness, sparse, rgb, K, stamp)
    np.testing.assert_allclose(depth, _expected_depth(node, rgb), rtol=1e-6, equal_nan=True)
    assert node.health.failures.snapshot()["bad_input"] >= 1
    assert node.scale.last.scale == 1.0 and node.scale.last.state == "fallback"


def test_help_prints_parameters_and_exits():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "disdepth_ros.depth_node", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: depth_node")
    for name in ("model_path", "autostart", "flying_pixel_threshold", "max_input_pixels"):
        assert f"  {name} = " in done.stdout


def _frame_sender(harness: Harness, rgb: np.ndarray, K: np.ndarray, stamp: int) -> Callable[[], None]:  # noqa: N803
    """Publishes camera_info and the image with `stamp` (for `publish_until`)."""

    def send() -> None:
        harness.info_pub.publish(_info_msg(K, stamp))
        harness.image_pub.publish(_image_msg(rgb, stamp))

    return send


def test_fixed_scale_source_scales_depth_and_says_so(ros, model_path):
    harness = ros("/fixed", model_path=model_path, scale_source="fixed:2.5")
    node = harness.node_under_test
    rgb, K = _scene(16)
    depth = _depth_array(
        harness.publish_until(_frame_sender(harness, rgb, K, 1600), ("depth",), 1600)["depth"]
    )
    np.testing.assert_allclose(depth, 2.5 * _expected_depth(node, rgb), rtol=1e-5, equal_nan=True)
    status = harness.node_status(
        lambda s: "fixed" in {kv.key: kv.value for kv in s.values}.get("scale source", "")
    )
    values = {kv.key: kv.value for kv in status.values}
    assert values["metric scale"] == "2.5000" and values["scale reason"] == "fixed factor 2.5"


def test_ground_plane_mount_from_parameters_reaches_the_scale_source(ros, model_path):
    """In the pip venv (no tf2) the mount comes from camera_height_m/pitch/roll; diagnostics name it and
    the ground-plane source's verdict on each frame."""
    harness = ros(
        "/mounted",
        model_path=model_path,
        scale_source="ground_plane",
        camera_height_m=0.8,
        camera_pitch_deg=12.0,
    )
    node = harness.node_under_test
    rgb, K = _scene(17)
    harness.publish_until(_frame_sender(harness, rgb, K, 1700), ("depth",), 1700)
    status = harness.node_status(lambda s: "camera mount" in {kv.key for kv in s.values})
    values = {kv.key: kv.value for kv in status.values}
    assert values["camera mount"].startswith("camera mount from parameters: camera 0.800 m above the floor")
    assert "pitch +12.0 deg" in values["camera mount"]
    decision = node.scale.last
    assert decision is not None and decision.source in ("ground_plane", "model")
    assert ("agrees with" in decision.reason) or ("cannot decide" in decision.reason)
    assert node.set_parameters([Parameter("camera_height_m", value=1.1)])[0].successful
    assert node.mount_source.parameters.height_m == pytest.approx(1.1)
    assert not node.set_parameters([Parameter("scale_source", value="model")])[0].successful  # read-only


STOPS = 30


@pytest.mark.slow
def test_stop_under_traffic_is_orderly(model_path, tmp_path):
    """30 times: a real `depth_node` process under a 30 Hz camera process is stopped (SIGTERM and SIGINT
    in turn) once its depth frames flow: exit 0, no traceback, no error line. With rclpy's own signal
    handlers the context was shut down under running callbacks (RCLError, exit 1, in 1 of 10-20 stops)."""
    import signal
    import subprocess
    import sys

    from launch_fixtures import Probe, domain_id, psutil, ros_environment, start_camera

    if psutil is None:
        pytest.skip("psutil (a dependency of the ROS 2 launch stack) is not installed")
    env = ros_environment(domain_id(), tmp_path)
    camera = start_camera(env, tmp_path, rate=30, width=320, height=240)
    probe = Probe(int(env["ROS_DOMAIN_ID"]), "stop_probe")
    probe.subscribe(Image, "/depth/image")
    command = [
        sys.executable,
        "-m",
        "disdepth_ros.depth_node",
        "--ros-args",
        "-p",
        f"model_path:={model_path}",
    ]
    command += ["-r", "image:=/camera/image_raw", "-r", "camera_info:=/camera/camera_info"]
    try:
        for stop in range(STOPS):
            started = time.monotonic()
            node = subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            try:
                assert _wait(lambda since=started: probe.received("/depth/image", since), 60), (
                    "no depth frame within 60 s"
                )
                time.sleep(0.05 * (stop % 8))  # stop at varying moments of the traffic
                node.send_signal(signal.SIGTERM if stop % 2 else signal.SIGINT)
                output, _ = node.communicate(timeout=30)
            finally:
                if node.poll() is None:
                    node.kill()
            assert node.returncode == 0, f"stop {stop}: exit {node.returncode}\n{output}"
            assert "Traceback" not in output and "[ERROR]" not in output, f"stop {stop}:\n{output}"
    finally:
        probe.close()
        camera.stop()
