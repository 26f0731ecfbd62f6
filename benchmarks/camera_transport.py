"""Frames that reach the depth node from a camera in another process (a script, not a test).

A 640x480 bgr8 camera (plus camera_info) publishes at 30 Hz from its own process, as a camera driver
does, with reliable or best-effort QoS; the depth node runs in a third process as a user starts it
(`depth_node --ros-args ...`, default parameters, the shipped model). For each configuration the script
prints frames sent, frames received by the node (its /diagnostics `frames received`), depth published
(received by this process), the node's estimate of frames lost before it (stamp gaps) and its dropped
frames (newest-wins mailbox). Configurations, all in one run:

- camera reliable, node default (`auto`: matches -> reliable);
- camera best-effort, node default (`auto`: matches -> best-effort);
- camera reliable, node forced best-effort (`qos_overrides./<ns>/image.subscription.reliability:=
  best_effort`): the fixed best-effort subscription the node used before, for comparison.

    .venv/bin/python benchmarks/camera_transport.py [--seconds 10] [--model M.onnx]

(`--camera-role` is internal: the camera process.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from ros_environment import isolated_ros_environment

H, W, RATE_HZ = 480, 640, 30.0


def camera(namespace: str, reliability: str, seconds: float, start_delay: float) -> None:
    """The camera process: publish frames at RATE_HZ for `seconds`; print how many were sent (JSON)."""
    import numpy as np
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image

    from disdepth_core.data.synthetic import render_scene

    rclpy.init()
    node = rclpy.create_node("bench_camera", namespace=namespace)
    policy = ReliabilityPolicy.RELIABLE if reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT
    qos = QoSProfile(depth=5, reliability=policy)
    image_pub = node.create_publisher(Image, "image", qos)
    info_pub = node.create_publisher(CameraInfo, "camera_info", qos)
    sample = render_scene(0, H, W, "room")
    image = Image(height=H, width=W, encoding="bgr8", step=W * 3)
    image.data = np.ascontiguousarray(sample["image"][..., ::-1]).tobytes()
    image.header.frame_id = "camera_optical_frame"
    info = CameraInfo(width=W, height=H)
    info.k = sample["K"].astype(np.float64).ravel().tolist()
    info.header.frame_id = image.header.frame_id
    time.sleep(start_delay)  # discovery
    sent, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        sent += 1
        image.header.stamp.sec, image.header.stamp.nanosec = divmod(int(sent * 1e9 / RATE_HZ), 10**9)
        info.header.stamp = image.header.stamp
        info_pub.publish(info)
        image_pub.publish(image)
        time.sleep(max(0.0, start + sent / RATE_HZ - time.monotonic()))
    time.sleep(1.0)
    print(json.dumps({"sent": sent, "seconds": time.monotonic() - start - 1.0}), flush=True)
    node.destroy_node()
    rclpy.shutdown()


def run_configuration(name: str, reliability: str, overrides: list[str], args, env) -> dict:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    namespace = f"/transport_{name}"
    node_cmd = [str(Path(sys.prefix) / "bin" / "depth_node"), "--ros-args", "-r", f"__ns:={namespace}"]
    node_cmd += ["-p", "device:=cpu"] + (["-p", f"model_path:={args.model}"] if args.model else [])
    for override in overrides:
        node_cmd += ["-p", override.format(ns=namespace)]
    node = subprocess.Popen(node_cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rclpy.init()
    probe = rclpy.create_node("transport_probe")
    depth_count = [0]
    diagnostics: dict[str, str] = {}
    lock = threading.Lock()

    def on_depth(_msg) -> None:
        with lock:
            depth_count[0] += 1

    def on_diagnostics(array) -> None:
        for status in array.status:
            if status.name.startswith(namespace + "/"):
                with lock:
                    diagnostics.update({kv.key: kv.value for kv in status.values})

    probe.create_subscription(
        Image,
        f"{namespace}/depth/image",
        on_depth,
        QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE),
    )
    probe.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 20)
    spinner = threading.Thread(target=rclpy.spin, args=(probe,), daemon=True)
    spinner.start()
    time.sleep(3.0)  # the node loads its model
    cam = subprocess.run(
        [sys.executable, __file__, "--camera-role", namespace, reliability, str(args.seconds)],
        env=env,
        capture_output=True,
        text=True,
        timeout=args.seconds + 60,
    )
    time.sleep(1.5)  # the last diagnostics
    with lock:
        received = int(diagnostics.get("frames received", 0))
        lost = diagnostics.get("frames lost before the node (stamp gaps)", "?")
        dropped = diagnostics.get("dropped frames", "?")
        qos = diagnostics.get("image QoS", "?")
        published = depth_count[0]
    node.terminate()
    node.communicate(timeout=20)
    probe.destroy_node()
    rclpy.shutdown()
    if cam.returncode != 0:
        raise RuntimeError(f"camera process failed: {cam.stderr[-2000:]}")
    sent = json.loads(cam.stdout.strip().splitlines()[-1])["sent"]
    return {
        "configuration": name,
        "camera": reliability,
        "node input QoS": qos,
        "sent": sent,
        "received by node": received,
        "received %": 100.0 * received / max(sent, 1),
        "depth published": published,
        "lost before node (stamp gaps)": lost,
        "dropped by node (newest wins)": dropped,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--model", help="model file (default: the shipped model)")
    parser.add_argument(
        "--camera-role", nargs=3, metavar=("NS", "RELIABILITY", "SECONDS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    env = isolated_ros_environment("transport")
    if args.camera_role:
        namespace, reliability, seconds = args.camera_role
        camera(namespace, reliability, float(seconds), start_delay=2.0)
        return 0
    forced = ["qos_overrides.{ns}/image.subscription.reliability:=best_effort"]
    rows = [
        run_configuration("reliable_auto", "reliable", [], args, env),
        run_configuration("best_effort_auto", "best_effort", [], args, env),
        run_configuration("reliable_forced_best_effort", "reliable", forced, args, env),
    ]
    load = os.getloadavg()[0]
    print(f"640x480 bgr8 camera at {RATE_HZ:g} Hz in its own process, {args.seconds:g} s, load {load:.2f}:")
    for row in rows:
        print(
            "  " + ", ".join(f"{k}: {v:.1f}" if isinstance(v, float) else f"{k}: {v}" for k, v in row.items())
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
