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
from rclpy.executors import MultiThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

from disdepth_core.geometry import depth_to_points
from disdepth_core.image_encodings import decode_compressed
from disdepth_ros.conversions import camera_info_to_intrinsics
from disdepth_ros.depth_node import DepthNode, resolve_model_path
from disdepth_ros.health import EventRate, LatencyWindow
from disdepth_ros.mailbox import LatestMailbox
from disdepth_ros.outputs import apply_depth_limits
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
    """A real ONNX file with disdepth metadata, run by the real runtime (onnxruntime).

    Depth = 1 + 9 * sigmoid(mean over the normalised RGB channels): cheap, and it depends on every
    pixel, so resizing/alignment mistakes show up. (To be replaced by an exported untrained student
    once `disdepth_core.export` lands.)
    """
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from disdepth_core.runtime import ModelInfo

    height, width = 64, 96
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1], keepdims=1),
        helper.make_node("Sigmoid", ["mean"], ["unit"]),
        helper.make_node(
            "Constant", [], ["nine"], value=helper.make_tensor("n", TensorProto.FLOAT, [], [9.0])
        ),
        helper.make_node(
            "Constant", [], ["one"], value=helper.make_tensor("o", TensorProto.FLOAT, [], [1.0])
        ),
        helper.make_node("Mul", ["unit", "nine"], ["scaled"]),
        helper.make_node("Add", ["scaled", "one"], ["depth"]),
        helper.make_node("Mul", ["unit", "unit"], ["uncertainty"]),
    ]
    shape = [1, 1, height, width]
    graph = helper.make_graph(
        nodes,
        "tiny_depth",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, height, width])],
        [
            helper.make_tensor_value_info("depth", TensorProto.FLOAT, shape),
            helper.make_tensor_value_info("uncertainty", TensorProto.FLOAT, shape),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    info = ModelInfo(
        name="tiny-test",
        input_height=height,
        input_width=width,
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        min_depth=0.1,
        max_depth=10.0,
        trained=False,
    )
    for key, value in info.to_props().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    path = tmp_path_factory.mktemp("model") / "tiny_test.onnx"
    onnx.save(model, str(path))
    return str(path)


class Harness:
    """A test node that talks to one DepthNode under test."""

    def __init__(self, context, executor, depth_node: DepthNode, namespace: str, compressed: bool = False):
        self.node_under_test = depth_node
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
        executor.add_node(self.node)

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
        raise AssertionError(
            f"no {keys} with stamp {stamp} within {TIMEOUT} s; got {dict(self.received).keys()}"
        )

    def node_status(self, predicate: Callable[[DiagnosticStatus], bool] = lambda s: True) -> DiagnosticStatus:
        name = f"{self.node_under_test.get_name()}: depth estimation"
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
    executor = MultiThreadedExecutor(num_threads=2, context=context)
    thread = threading.Thread(target=executor.spin, daemon=True)
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
        harness = Harness(context, executor, node, namespace, compressed)
        nodes.extend([node, harness.node])
        return harness

    thread.start()
    yield make
    executor.shutdown()
    for node in nodes:
        node.destroy_node()
    rclpy.shutdown(context=context)
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def raw(ros, model_path):
    return ros("/raw", model_path=model_path, points_rgb=True)


def _depth_array(msg: Image) -> np.ndarray:
    return np.frombuffer(bytes(msg.data), np.float32).reshape(msg.height, msg.width)


def _expected_depth(node: DepthNode, rgb: np.ndarray) -> np.ndarray:
    info = node.estimator.info
    return apply_depth_limits(node.estimator.predict(rgb).depth, info.min_depth, info.max_depth)


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
    expected = depth_to_points(depth, camera_info_to_intrinsics(info_msg), stride=2)
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
    bad_before = node.health.bad_input
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
    assert node.health.bad_input > bad_before
    assert raw.find("depth", 300) is None
    np.testing.assert_allclose(
        _depth_array(out["depth"]), _expected_depth(node, rgb), rtol=1e-6, equal_nan=True
    )


def test_backend_failure_is_counted_and_survived(raw, monkeypatch):
    rgb, _ = _scene(4)
    node = raw.node_under_test
    real_predict = node.estimator.predict
    calls = {"n": 0}

    def flaky(image):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated backend failure")
        return real_predict(image)

    monkeypatch.setattr(node.estimator, "predict", flaky)
    stamp = 404
    raw.publish_until(lambda: raw.image_pub.publish(_image_msg(rgb, stamp)), ("depth",), stamp)
    assert node.health.backend_errors >= 1


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
        "bad input",
        "backend errors",
        "backend",
        "provider",
        "model",
        "image topic",
        "camera_info topic",
        "input QoS",
    ):
        assert key in values, key
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
