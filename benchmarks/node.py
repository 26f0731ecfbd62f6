"""Depth node benchmark at 640x480 (a script, not a test).

Measures, in one run:
1. per stage, the node's per-frame path at 640x480 with default outputs (`points` subscribed, no
   colorized), through the node's own `FramePipeline` and the node's publish of each message: decode,
   resize + normalise, inference, restore + range check, scale source (`--scale-source`, default auto:
   ground_plane with the rendered frame's own camera mount unless `--camera-height` gives another) with
   the published limits, depth image + camera_info messages, cloud, publish (rclpy, of which
   serialisation); medians, each as a share of inference (issue 21: everything but inference <= 0.5x),
   at cloud stride 2 (default) and 1; depth/colorized (built only while subscribed) on its own;
2. the node's cloud builder (`depth_to_cloud_msg`) against a straightforward per-point Python
   construction (struct.pack_into per pixel) of the same message bytes (target: >= 20x);
3. end-to-end: the node in-process fed 640x480 bgr8 frames at 30 Hz; output rate and
   publish-to-receive latency seen by a subscriber of depth/image and points, and the node's own
   receive-to-published latency (`in_node_p50_ms`; the rest is transport and executors)
   (`--subscribe-colorized` adds depth/colorized), for the given runtime options and, with
   `--compare`, for each other backend/precision in the same run (p50 ratios against the first).
   `--compare fp32` is the first run's backend at fp32, today's default before precision=auto.

    taskset -c 0,1 .venv/bin/python benchmarks/node.py --model M.onnx [--repeats 200] [--threads 2]
        [--backend B --device D --precision P --input-size HxW]  (the node's runtime options)
        [--scale-source SPEC --camera-height M --camera-pitch DEG --camera-roll DEG]
        [--compare fp32 onnxruntime:fp32 openvino:bf16 openvino:int8=M_int8.onnx]
"""

from __future__ import annotations

import argparse
import os
import statistics
import struct
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from ros_environment import isolated_ros_environment
from timing import median_ms

from disdepth_core.cli.runtime_args import add_runtime_arguments, runtime_options
from disdepth_core.cli.scale_args import ScaleOptions, add_scale_arguments, scale_options
from disdepth_core.runtime.options import PRECISIONS

ROOT = Path(__file__).resolve().parents[1]
H, W = 480, 640


def _frame() -> tuple[np.ndarray, np.ndarray, object]:
    """A rendered 640x480 room, its K and its camera mount (the renderer's pose)."""
    from disdepth_core.data.synthetic import make_scene, render_scene
    from disdepth_core.scale import CameraMount

    sample = render_scene(0, H, W, "room")
    _, poses, _ = make_scene(0, "room", 1)
    up = poses[0].rotation.T @ np.array([0.0, 0.0, 1.0])
    mount = CameraMount(float(poses[0].position[2] - poses[0].ground_z), tuple(up), "rendered frame's pose")
    return sample["image"], sample["K"].astype(np.float64), mount


def _model(path: str | None) -> tuple[Path, str]:
    """The model to run and a sentence saying where it came from."""
    if path:
        return Path(path), f"{path} (given)"
    shipped = sorted((ROOT / "models").glob("*.onnx"))
    if shipped:
        return shipped[0], f"{shipped[0].relative_to(ROOT)} (shipped model)"
    raise SystemExit("no models/*.onnx yet: pass --model PATH (e.g. an exported untrained student)")


def _load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def _naive_cloud_bytes(depth: np.ndarray, fx: float, fy: float, cx: float, cy: float) -> bytes:
    """Per-point Python construction of the same PointXYZ buffer (the baseline)."""
    height, width = depth.shape
    buffer = bytearray(height * width * 16)
    nan = float("nan")
    for v in range(height):
        for u in range(width):
            z = float(depth[v, u])
            valid = z > 0 and z == z
            point = ((u - cx) * z / fx, (v - cy) * z / fy, z) if valid else (nan, nan, nan)
            struct.pack_into("<fff", buffer, (v * width + u) * 16, *point)
    return bytes(buffer)


STAGES = (
    ("decode (bgr8 Image -> RGB view)", "decode_ms"),
    ("resize + normalise (pre-process)", "preprocess_ms"),
    ("inference (backend call)", "inference_ms"),
    ("restore to 640x480 + range check", "postprocess_ms"),
    ("scale source + published limits", "scale_ms"),
    ("depth image + camera_info messages", "outputs_ms"),
    ("cloud (PointCloud2)", "cloud_ms"),
    ("publish (rclpy, subscribers matched)", "publish_ms"),
)


def bench_stages(
    estimator, rgb: np.ndarray, k: np.ndarray, repeats: int, stride: int, scale: ScaleOptions
) -> dict[str, float]:
    """Medians (ms) of every stage of the node's per-frame path at 640x480, the node's default parameters
    (depth limits, flying-pixel removal, ...), default outputs (`points` subscribed, no colorized), cloud
    `stride`: the node's own `FramePipeline`, then each message
    published as `DepthNode._process` does, on publishers with the node's output QoS that a subscriber
    in this process has matched (it is not spun: the publish cost is the sender's). Also: `serialise_ms`,
    rclpy's serialisation of the same messages alone (part of publish), and `non_inference_ms`, the
    median of the per-frame sum of every stage but inference."""
    import rclpy
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import CameraInfo, Image

    from disdepth_core.scale import ScaleTracker
    from disdepth_ros.outputs import OUTPUT_TOPICS
    from disdepth_ros.params import PARAMETERS, output_settings
    from disdepth_ros.pipeline import FramePipeline, ScaleInputs

    msg = Image(height=H, width=W, encoding="bgr8", step=W * 3)
    msg.data = np.ascontiguousarray(rgb[..., ::-1]).tobytes()
    msg.header.frame_id = "camera_optical_frame"
    info = CameraInfo(width=W, height=H)
    info.k = k.ravel().tolist()
    info.p = np.hstack([k, np.zeros((3, 1))]).ravel().tolist()
    defaults = {name: spec.default for name, spec in PARAMETERS.items()}
    settings = replace(output_settings(defaults, estimator.info), cloud_stride=stride)  # the node's defaults
    tracker = ScaleTracker(scale.spec, relative_model=estimator.info.relative)
    pipeline = FramePipeline(estimator, settings, scale=tracker)
    inputs = ScaleInputs(mount=scale.mount)

    context = rclpy.Context()
    rclpy.init(context=context)
    sender = rclpy.create_node("bench_stages", context=context)
    receiver = rclpy.create_node("bench_stages_receiver", context=context)
    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE)
    publishers = {
        name: sender.create_publisher(kind, topic, qos) for name, (topic, kind) in OUTPUT_TOPICS.items()
    }
    for name in ("depth", "camera_info", "points"):
        topic, kind = OUTPUT_TOPICS[name]
        receiver.create_subscription(kind, topic, lambda _m: None, qos)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and publishers["points"].get_subscription_count() == 0:
        time.sleep(0.05)

    samples: dict[str, list[float]] = {key: [] for _, key in STAGES}
    samples.update(serialise_ms=[], non_inference_ms=[])
    try:
        for index in range(repeats):
            msg.header.stamp.sec = index  # stamps advance as a camera's do (the tracker holds by stamp time)
            outcome = pipeline.process(msg, info, ("points",), inputs)
            assert outcome.ok and "points" in outcome.messages, outcome.failure
            started = time.perf_counter()
            for name, out in outcome.messages.items():
                publishers[name].publish(out)
            publish_ms = (time.perf_counter() - started) * 1e3
            started = time.perf_counter()
            for out in outcome.messages.values():
                serialize_message(out)
            samples["serialise_ms"].append((time.perf_counter() - started) * 1e3)
            timings = vars(outcome.timings) | {"publish_ms": publish_ms}
            for _, key in STAGES:
                samples[key].append(timings[key])
            samples["non_inference_ms"].append(sum(timings.values()) - timings["inference_ms"])
    finally:
        sender.destroy_node()
        receiver.destroy_node()
        rclpy.shutdown(context=context)
    print(f"  stride {stride}: {outcome.scale.describe()}")
    return {key: statistics.median(values) for key, values in samples.items()}


def print_stage_table(results: dict[int, dict[str, float]], repeats: int) -> None:
    """One column pair per cloud stride: the stage's median and its share of the inference median."""
    strides = list(results)
    header = "| stage | " + " | ".join(f"stride {s} ms | x inference" for s in strides) + " |"
    print(f"\nper-stage medians of {repeats} frames at {W}x{H} ({_load()}):\n{header}")
    print("|---|" + "---:|---:|" * len(strides))
    rows = [*STAGES, ("rclpy serialisation of the same messages alone (not summed)", "serialise_ms")]
    rows.append(("**everything but inference** (target <= 0.5 x inference)", "non_inference_ms"))
    for label, key in rows:
        cells = []
        for stride in strides:
            value, inference = results[stride][key], results[stride]["inference_ms"]
            cells.append(f"{value:.2f} | {value / inference:.2f}")
        print(f"| {label} | " + " | ".join(cells) + " |")


def bench_colorized(estimator, rgb: np.ndarray, repeats: int) -> float:
    """Median ms of depth/colorized for one frame (built only while someone subscribes)."""
    from std_msgs.msg import Header

    from disdepth_ros.outputs import OutputSettings, build_image_outputs

    depth = estimator.predict(rgb).depth
    settings = OutputSettings(min_depth=0.0, max_depth=float("inf"))
    header = Header(frame_id="camera_optical_frame")
    with_colour = median_ms(lambda: build_image_outputs(depth, None, header, None, settings), repeats)
    without = median_ms(lambda: build_image_outputs(depth, None, header, None, settings, ()), repeats)
    return with_colour - without


def bench_cloud(depth: np.ndarray, k: np.ndarray, repeats: int) -> dict[str, float]:
    """The node's cloud builder vs the per-point Python baseline on the same depth, stride 1."""
    from std_msgs.msg import Header

    from disdepth_core.geometry import CameraIntrinsics
    from disdepth_ros.conversions import depth_to_cloud_msg

    intrinsics = CameraIntrinsics.from_K(k, W, H)
    header = Header(frame_id="camera_optical_frame")
    built = np.frombuffer(bytes(depth_to_cloud_msg(depth, intrinsics, header).data), np.float32)
    reference = np.frombuffer(
        _naive_cloud_bytes(depth, intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy), np.float32
    )
    assert np.allclose(built, reference, rtol=1e-5, equal_nan=True), "builders disagree"
    return {
        "cloud_numpy_ms": median_ms(lambda: depth_to_cloud_msg(depth, intrinsics, header), repeats),
        "cloud_python_ms": median_ms(
            lambda: _naive_cloud_bytes(depth, intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy), 5
        ),
    }


def bench_end_to_end(
    model: Path,
    rgb: np.ndarray,
    k: np.ndarray,
    seconds: float,
    options,
    scale: ScaleOptions,
    colorized: bool = False,
) -> dict[str, float]:
    import rclpy
    from rclpy.parameter import Parameter
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2

    from disdepth_ros.commands.demo.session import mount_parameters
    from disdepth_ros.depth_node import DepthNode
    from disdepth_ros.executors import SpinningExecutors
    from disdepth_ros.params import node_parameters

    context = rclpy.Context()
    rclpy.init(context=context)
    node = DepthNode(
        context=context,
        parameter_overrides=[
            Parameter("model_path", value=str(model)),
            Parameter("scale_source", value=scale.spec),
            *(Parameter(name, value=value) for name, value in node_parameters(options).items()),
            *(
                Parameter(n, value=v)
                for n, v in (mount_parameters(scale.mount) if scale.mount else {}).items()
            ),
        ],
    )
    probe = rclpy.create_node("bench_probe", context=context)
    image_pub = probe.create_publisher(Image, "image", qos_profile_sensor_data)
    info_pub = probe.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
    sent: dict[int, float] = {}
    latencies: list[float] = []
    received: list[float] = []
    clouds: list[float] = []

    def on_depth(msg: Image) -> None:
        now = time.monotonic()
        received.append(now)
        if msg.header.stamp.nanosec in sent:
            latencies.append((now - sent[msg.header.stamp.nanosec]) * 1e3)

    probe.create_subscription(Image, "depth/image", on_depth, 5)
    if colorized:
        probe.create_subscription(Image, "depth/colorized", lambda _m: None, 5)
    probe.create_subscription(PointCloud2, "points", lambda _m: clouds.append(time.monotonic()), 5)
    executors = SpinningExecutors(context, [[node], [probe]])  # the node alone, as `depth_node` spins

    image = Image(height=H, width=W, encoding="bgr8", step=W * 3)
    image.data = np.ascontiguousarray(rgb[..., ::-1]).tobytes()
    image.header.frame_id = "camera_optical_frame"
    info = CameraInfo(width=W, height=H)
    info.header.frame_id = "camera_optical_frame"
    info.k = k.ravel().tolist()
    time.sleep(1.0)  # discovery
    period = 1.0 / 30.0
    start = time.monotonic()
    count = 0
    while time.monotonic() - start < seconds:
        executors.check()
        count += 1
        image.header.stamp.sec, image.header.stamp.nanosec = 1, count
        info.header.stamp = image.header.stamp
        sent[count] = time.monotonic()
        info_pub.publish(info)
        image_pub.publish(image)
        next_time = start + count * period
        time.sleep(max(0.0, next_time - time.monotonic()))
    elapsed = time.monotonic() - start
    time.sleep(1.0)
    inference = node.health.inference_ms.percentile(50)
    inference_p95 = node.health.inference_ms.percentile(95)
    in_node = node.health.end_to_end_ms.percentile(50)
    dropped = node.dropped_frames
    executors.shutdown()
    node.destroy_node()
    probe.destroy_node()
    rclpy.shutdown(context=context)
    in_window = [t for t in received if t - start <= elapsed]
    return {
        "sent_hz": count / elapsed,
        "depth_hz": len(in_window) / elapsed,
        "cloud_hz": len([t for t in clouds if t - start <= elapsed]) / elapsed,
        "latency_p50_ms": float(np.percentile(latencies, 50)) if latencies else float("nan"),
        "latency_p95_ms": float(np.percentile(latencies, 95)) if latencies else float("nan"),
        "inference_p50_ms": inference,
        "inference_p95_ms": inference_p95,
        "in_node_p50_ms": in_node,
        "dropped": float(dropped),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", help="model file (default: models/*.onnx, else an exported untrained student)"
    )
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0, help="end-to-end duration; 0 skips it")
    parser.add_argument(
        "--compare",
        nargs="*",
        default=[],
        metavar="BACKEND:PRECISION[=MODEL]",
        help="further end-to-end runs in the same process, e.g. fp32 (the first run's backend at fp32: "
        "today's default before precision=auto), openvino:bf16, openvino:int8=m_int8.onnx",
    )
    parser.add_argument(
        "--subscribe-colorized",
        action="store_true",
        help="the end-to-end probe also subscribes to depth/colorized (as rviz would)",
    )
    add_runtime_arguments(parser)
    add_scale_arguments(parser)
    parser.set_defaults(device="cpu", threads=2)
    args = parser.parse_args()
    isolated_ros_environment("bench")
    from disdepth_core.deployment import open_estimator

    options = runtime_options(args)
    rgb, k, rendered_mount = _frame()
    scale = scale_options(args)
    scale = scale if scale.mount is not None else replace(scale, mount=rendered_mount)
    print(f"scale_source {scale.spec}; {scale.mount.describe()}")
    model, origin = _model(args.model)
    estimator = open_estimator(model, options)
    print(f"model: {origin}\n  {estimator.describe()}")
    print(f"cpu: {os.cpu_count()} cores, affinity {sorted(os.sched_getaffinity(0))}, {_load()}")
    stages = {stride: bench_stages(estimator, rgb, k, args.repeats, stride, scale) for stride in (2, 1)}
    print_stage_table(stages, args.repeats)
    colorized = bench_colorized(estimator, rgb, max(args.repeats // 4, 5))
    print(f"depth/colorized, built only while subscribed: +{colorized:.2f} ms a frame\n")
    depth = estimator.predict(rgb).depth
    cloud = bench_cloud(depth, k, max(args.repeats, 10))
    ratio = cloud["cloud_python_ms"] / cloud["cloud_numpy_ms"]
    print(
        f"cloud {W}x{H} stride 1: numpy {cloud['cloud_numpy_ms']:.2f} ms, per-point Python "
        f"{cloud['cloud_python_ms']:.0f} ms -> {ratio:.0f}x faster ({_load()})"
    )
    if args.seconds <= 0:
        return 0
    runs = [(f"{options.backend}:{options.precision}", model, options)]
    for spec in args.compare:
        name, _, path = spec.partition("=")
        if name in PRECISIONS:  # the first run's backend at another precision
            run_options = replace(options, precision=name)
            name = f"{options.backend}:{name}"
        else:
            backend, _, precision = name.partition(":")
            run_options = replace(options, backend=backend, precision=precision or "fp32")
        runs.append((name, Path(path) if path else model, run_options))
    results = []
    for name, run_model, run_options in runs:
        e2e = bench_end_to_end(run_model, rgb, k, args.seconds, run_options, scale, args.subscribe_colorized)
        results.append((name, e2e))
        print(f"end-to-end {name} ({run_model.name}), fed at 30 Hz for {args.seconds:g} s ({_load()}):")
        for key, value in e2e.items():
            print(f"  {key:18s} {value:8.2f}")
    if len(results) > 1:
        first, base = results[0][0], results[0][1]["latency_p50_ms"]
        print(f"end-to-end latency p50 (x = that run's p50 / {first}'s: how much faster {first} is):")
        for name, e2e in results:
            print(
                f"  {name:24s} {e2e['latency_p50_ms']:8.1f} ms  {e2e['latency_p50_ms'] / base:5.2f}x  "
                f"depth {e2e['depth_hz']:5.1f} Hz"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
