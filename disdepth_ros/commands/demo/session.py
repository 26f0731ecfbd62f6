"""`disdepth demo`: the real depth node on a recorded camera, end to end, in one process, in seconds.

1. A synthetic sample bag (`disdepth_ros.commands.sample_bag.recording`) is made once and cached in the
   output directory.
2. The real `DepthNode` (`disdepth_ros.depth_node`, default model unless one is given) runs in an
   rclpy executor thread, with its `image`/`camera_info` inputs remapped to the played topics and the
   scale source `ground_plane` by default: the camera mount is the bag's TF, which the player publishes
   on `/tf_static` and `/tf` where `tf2_msgs`/`tf2_ros` are installed (a ROS install), else it reaches
   the node as its `camera_height_m`/`camera_pitch_deg`/`camera_roll_deg` parameters (the pip venv).
3. A player publishes the bag's image and camera_info at their recorded rate (best-effort sensor QoS,
   as a camera driver does); a recorder subscribes to the node's `depth/image`, `depth/camera_info`
   and `points` (its subscription is what makes the node build clouds).
4. The summary compares what came out with what went in: frames in/out (the node drops stale frames
   by design when inference is slower than the camera), output rate, end-to-end latency (publish ->
   depth received, matched by header stamp), the scale the node used and why, and the accuracy of the
   published depth against the bag's ground truth (matched by stamp; the published depth's own metrics,
   i.e. with the scale source, and median-scaled), scored as `eval-bag` scores by default (ground truth
   0.1-80 m, the recording's range, not the model's). It is written to `summary.json` with `preview.png`.

All topics live under the `/disdepth_demo` namespace so the demo never talks to a real camera on the
same ROS domain (TF, where published, lives on the domain's `/tf` and `/tf_static` as TF does).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.bags import find_topic, open_bag, read_messages, stamp_ns
from disdepth_core.bags.tf import TF_STATIC_TOPIC, TF_TOPIC, read_tf
from disdepth_core.evaluation import PROTOCOLS, DepthScorer
from disdepth_core.evaluation.stats import percentiles
from disdepth_core.files import write_json
from disdepth_core.runtime.options import RuntimeOptions
from disdepth_core.scale import CameraMount, TransformBuffer, mount_from_transform
from disdepth_ros.bag_messages import read_message
from disdepth_ros.commands.sample_bag.recording import (
    BASE_FRAME,
    FRAME_ID,
    TOPICS,
    SampleBagSpec,
    write_sample_bag,
)
from disdepth_ros.conversions import depth_msg_to_array
from disdepth_ros.outputs import OUTPUT_TOPICS
from disdepth_ros.params import node_parameters

__all__ = ["NAMESPACE", "DemoConfig", "run_demo"]

NAMESPACE = "/disdepth_demo"
DISCOVERY_TIMEOUT_S = 15.0
DRAIN_TIMEOUT_S = 5.0  # after the last frame, wait this long at most for the node to finish
RECORDED = ("depth", "camera_info", "points")  # node outputs the demo subscribes to


@dataclass(frozen=True)
class DemoConfig:
    """Demo settings; `quick` shrinks the sample to 20 frames at 160x120 for a smoke run."""

    out_dir: Path = Path("disdepth_demo")
    frames: int = 60
    height: int = 240
    width: int = 320
    rate_hz: float = 15.0
    model: Path | None = None
    runtime: RuntimeOptions = field(default_factory=RuntimeOptions)
    scale_source: str = "ground_plane"

    @classmethod
    def quick_config(cls, out_dir: Path) -> DemoConfig:
        return cls(out_dir=out_dir, frames=20, height=120, width=160)

    @property
    def bag_path(self) -> Path:
        rate = f"{self.rate_hz:g}".replace(".", "p")
        return self.out_dir / f"sample_{self.frames}f_{self.width}x{self.height}_{rate}hz"


@dataclass
class _Recording:
    """The bag's frames in play order, and its ground truth by stamp."""

    images: list[Any]
    camera_infos: list[Any]
    stamps: list[int]
    ground_truth: dict[int, np.ndarray]
    mount: CameraMount | None = None
    tf: list[tuple[str, bytes]] = field(default_factory=list)  # (topic, CDR) of /tf_static and /tf records


def _load_bag(bag: Path) -> _Recording:
    """Read the sample bag's image, camera_info and ground-truth depth (all small) into memory."""
    with open_bag(bag) as reader:
        image_conns = find_topic(reader, TOPICS["image"], ("sensor_msgs/msg/Image",), bag)
        info_conns = find_topic(reader, TOPICS["camera_info"], ("sensor_msgs/msg/CameraInfo",), bag)
        depth_conns = find_topic(reader, TOPICS["depth"], ("sensor_msgs/msg/Image",), bag)
        recording = _Recording([], [], [], {})
        infos: dict[int, Any] = {}
        for conn, _, raw in read_messages(reader, image_conns + info_conns + depth_conns, bag):
            msg = read_message(raw, conn.msgtype, conn.topic, bag)
            stamp = stamp_ns(msg.header.stamp)
            if conn.topic == TOPICS["image"]:
                recording.images.append(msg)
                recording.stamps.append(stamp)
            elif conn.topic == TOPICS["camera_info"]:
                infos[stamp] = msg
            else:
                recording.ground_truth[stamp] = depth_msg_to_array(msg)
        recording.camera_infos = [infos[stamp] for stamp in recording.stamps]
        if not recording.images:
            raise RuntimeError(f"sample bag {bag} has no images; delete it so the demo records a new one")
        tf = TransformBuffer(cache_s=None)
        if read_tf(reader, bag, tf):
            first = tf.lookup(BASE_FRAME, FRAME_ID, recording.stamps[0])
            recording.mount = mount_from_transform(first, f"{bag.name} /tf_static")
            tf_conns = [c for c in reader.connections if c.topic in (TF_TOPIC, TF_STATIC_TOPIC)]
            recording.tf = [(conn.topic, bytes(raw)) for conn, _, raw in read_messages(reader, tf_conns, bag)]
    return recording


class _Session:
    """The depth node, a player and a recorder on one rclpy context, spun by an executor thread."""

    def __init__(
        self, model: Path | None, runtime: RuntimeOptions, scale_source: str, mount: CameraMount | None
    ) -> None:
        """Start the node (default model unless `model`), the player and the recorder; the camera
        `mount` goes to the node through TF where tf2 is installed, else as parameters."""
        import rclpy
        from rclpy.parameter import Parameter
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, Image

        from disdepth_ros.depth_node import DepthNode
        from disdepth_ros.executors import SpinningExecutors

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.nodes: list[Any] = []
        self.tf_message = _tf_message_class()
        try:
            overrides = [Parameter(name, value=value) for name, value in node_parameters(runtime).items()]
            overrides.append(Parameter("scale_source", value=scale_source))
            if mount is not None and self.tf_message is None:
                overrides += [Parameter(name, value=value) for name, value in mount_parameters(mount).items()]
            if model is not None:
                overrides.append(Parameter("model_path", value=str(model)))
            remaps = ["image", "camera_info"]
            self.depth_node = DepthNode(
                namespace=NAMESPACE,
                context=self.context,
                parameter_overrides=overrides,
                cli_args=["--ros-args", *[a for n in remaps for a in ("-r", f"{n}:={NAMESPACE}{TOPICS[n]}")]],
            )
            self.nodes.append(self.depth_node)
            self.player = rclpy.create_node("disdepth_demo_player", namespace=NAMESPACE, context=self.context)
            self.nodes.append(self.player)
            self.image_pub = self.player.create_publisher(
                Image, f"{NAMESPACE}{TOPICS['image']}", qos_profile_sensor_data
            )
            self.info_pub = self.player.create_publisher(
                CameraInfo, f"{NAMESPACE}{TOPICS['camera_info']}", qos_profile_sensor_data
            )
            self.tf_pubs = {}
            if self.tf_message is not None:  # a ROS install: the node hears the mount through tf2
                latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
                self.tf_pubs = {
                    TF_STATIC_TOPIC: self.player.create_publisher(self.tf_message, TF_STATIC_TOPIC, latched),
                    TF_TOPIC: self.player.create_publisher(self.tf_message, TF_TOPIC, 100),
                }
            self.recorder = rclpy.create_node(
                "disdepth_demo_recorder", namespace=NAMESPACE, context=self.context
            )
            self.nodes.append(self.recorder)
            self.lock = threading.Lock()
            self.received: dict[str, dict[int, tuple[float, Any]]] = {name: {} for name in RECORDED}
            reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
            self.subscriptions = [
                self.recorder.create_subscription(
                    OUTPUT_TOPICS[name][1],
                    f"{NAMESPACE}/{OUTPUT_TOPICS[name][0]}",
                    self._recorder(name),
                    reliable,
                )
                for name in RECORDED
            ]
            self.executors = SpinningExecutors(
                self.context, [[self.depth_node], [self.player, self.recorder]], name="disdepth-demo"
            )
        except BaseException:
            self.close()
            raise

    def _recorder(self, name: str) -> Any:
        def callback(msg: Any) -> None:
            now = time.monotonic()
            with self.lock:
                self.received[name][stamp_ns(msg.header.stamp)] = (now, msg)

        return callback

    def wait_for_connections(self) -> None:
        """Block until the player reaches the node and the node reaches the recorder (DDS discovery)."""
        deadline = time.monotonic() + DISCOVERY_TIMEOUT_S
        while time.monotonic() < deadline:
            self.executors.check()
            if (
                self.image_pub.get_subscription_count() > 0
                and self.info_pub.get_subscription_count() > 0
                and all(sub.get_publisher_count() > 0 for sub in self.subscriptions)
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(
            f"the demo's publishers and the depth node did not discover each other within "
            f"{DISCOVERY_TIMEOUT_S:.0f} s; check RMW_IMPLEMENTATION and that multicast/shared memory works "
            "(e.g. ROS_LOCALHOST_ONLY=1 or ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST)"
        )

    def prime_camera_info(self, info: Any) -> None:
        """Publish the first camera_info until the node has it, so the first frame gets its outputs too
        (the node keeps the latest camera_info; image and info callbacks may run in any order)."""
        deadline = time.monotonic() + DISCOVERY_TIMEOUT_S
        while self.depth_node.health.last_camera_info is None and time.monotonic() < deadline:
            self.executors.check()
            self.info_pub.publish(info)
            time.sleep(0.02)

    def play(self, recording: _Recording, rate_hz: float) -> dict[int, float]:
        """Publish every frame at its recorded time offset; returns publish time (monotonic) by stamp."""
        if self.tf_pubs:
            from rclpy.serialization import deserialize_message

            for topic, raw in recording.tf:  # TF first: the node looks the mount up at each image stamp
                self.tf_pubs[topic].publish(deserialize_message(raw, self.tf_message))
        published: dict[int, float] = {}
        first = recording.stamps[0]
        start = time.monotonic()
        for image, info, stamp in zip(
            recording.images, recording.camera_infos, recording.stamps, strict=True
        ):
            delay = start + (stamp - first) / 1e9 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.executors.check()
            self.info_pub.publish(info)
            published[stamp] = time.monotonic()
            self.image_pub.publish(image)
        self._drain(published)
        return published

    def _drain(self, published: dict[int, float]) -> None:
        """Wait until the last frame's outputs arrived, or no output came for a while."""
        last = max(published)
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        seen = -1
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            self.executors.check()
            with self.lock:
                count = len(self.received["depth"])
                done = last in self.received["depth"] and last in self.received["points"]
            if done:
                return
            if count != seen:
                seen, quiet_since = count, time.monotonic()
            elif time.monotonic() - quiet_since > 1.0:
                return
            time.sleep(0.02)

    def close(self) -> None:
        """Stop the executors (raising if one died), then destroy the nodes and the context."""
        try:
            executors = getattr(self, "executors", None)
            if executors is not None:
                executors.shutdown()
        finally:
            for node in reversed(self.nodes):
                node.destroy_node()
            self.context.try_shutdown()


def run_demo(config: DemoConfig, progress: bool = True) -> dict[str, Any]:
    """Run the demo; writes `summary.json` and `preview.png` into `config.out_dir` and returns the summary."""
    from disdepth_core.visualize.preview import cloud_points, render_preview
    from disdepth_ros.conversions import image_msg_to_rgb

    config.out_dir.mkdir(parents=True, exist_ok=True)
    spec = SampleBagSpec(
        frames=config.frames, height=config.height, width=config.width, rate_hz=config.rate_hz
    )
    made_bag = not config.bag_path.exists()
    if made_bag:
        write_sample_bag(config.bag_path, spec, progress=progress)
    recording = _load_bag(config.bag_path)

    started = time.monotonic()
    try:
        session = _Session(config.model, config.runtime, config.scale_source, recording.mount)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{error} (for the demo: `disdepth demo --model PATH`)") from error
    try:
        estimator = session.depth_node.estimator
        info = estimator.info
        session.wait_for_connections()
        session.prime_camera_info(recording.camera_infos[0])
        published = session.play(recording, config.rate_hz)
        with session.lock:
            received = {name: dict(items) for name, items in session.received.items()}
        model_path = session.depth_node.model_path
        scale = _scale_summary(session.depth_node, config.scale_source)
    finally:
        session.close()
    wall = time.monotonic() - started

    depth_in = received["depth"]
    scorer = DepthScorer(PROTOCOLS["rgbd"])  # the recording's range, as eval-bag scores by default
    latencies = []
    for stamp, (arrived, msg) in sorted(depth_in.items()):
        if stamp in published:
            latencies.append((arrived - published[stamp]) * 1e3)
        gt = recording.ground_truth.get(stamp)
        if gt is not None:
            depth = depth_msg_to_array(msg)
            scorer.add(depth, gt)
    arrivals = sorted(arrived for arrived, _ in depth_in.values())
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else None
    scores = scorer.summary()
    summary: dict[str, Any] = {
        "bag": str(config.bag_path),
        "bag_created": made_bag,
        "model": {
            "path": str(model_path),
            "name": info.name,
            "trained": info.trained,
            "backend": estimator.backend.name,
            "describe": estimator.describe(),
        },
        "frames": {
            "in": len(published),
            "out_depth": len(depth_in),
            "out_camera_info": len(received["camera_info"]),
            "out_points": len(received["points"]),
            "dropped_by_node": len(published) - len(depth_in),
        },
        "input_rate_hz": config.rate_hz,
        "output_rate_hz": rate,
        "latency_ms": percentiles(latencies),
        "scale": scale,
        "metrics": scores,
        "wall_s": wall,
        "image_size": [config.width, config.height],
    }
    write_json(config.out_dir / "summary.json", summary)

    shown = _preview_stamp(received, recording.stamps)
    if shown is not None:
        index = recording.stamps.index(shown)
        depth_msg = received["depth"][shown][1]
        depth = depth_msg_to_array(depth_msg)
        render_preview(
            config.out_dir / "preview.png",
            image_msg_to_rgb(recording.images[index]),
            depth,
            recording.ground_truth.get(shown),
            cloud_points(received["points"][shown][1]),
            f"disdepth demo: the depth node's output for one frame ({info.name} on "
            f"{estimator.backend.name}), scale from {scale['last']['source']} ({scale['last']['state']})",
            index,
        )
    summary["files"] = [str(config.out_dir / "summary.json"), str(config.out_dir / "preview.png")]
    return summary


def mount_parameters(mount: CameraMount) -> dict[str, float]:
    """The node's camera_height_m / camera_pitch_deg / camera_roll_deg for ``mount``."""
    return {
        "camera_height_m": mount.height_m,
        "camera_pitch_deg": mount.pitch_deg,
        "camera_roll_deg": mount.roll_deg,
    }


def _tf_message_class() -> Any:
    """``tf2_msgs.msg.TFMessage`` where a ROS install has it (the node then has tf2_ros), else None."""
    try:
        import tf2_ros  # noqa: F401 (the node's TF listener)
        from tf2_msgs.msg import TFMessage
    except ImportError:
        return None
    return TFMessage


def _scale_summary(node: Any, spec: str) -> dict[str, Any]:
    """Which scale the node used at the end of the run, and where its mount came from."""
    decision = node.scale.last if node.scale is not None else None
    last = (
        {
            "scale": decision.scale,
            "source": decision.source,
            "state": decision.state,
            "reason": decision.reason,
        }
        if decision is not None
        else {"scale": None, "source": spec, "state": "no frame", "reason": ""}
    )
    mount = node.mount_source.note if node.mount_source is not None else ""
    return {"source": spec, "mount": mount, "last": last}


def _preview_stamp(received: dict[str, dict[int, Any]], stamps: list[int]) -> int | None:
    """The frame nearest the middle of the sequence that has both depth and points."""
    both = [s for s in stamps if s in received["depth"] and s in received["points"]]
    if not both:
        return None
    middle = stamps[len(stamps) // 2]
    return min(both, key=lambda s: abs(s - middle))
