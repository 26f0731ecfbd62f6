"""Robustness of the depth node against malformed input (a script, not a test; loopback only, bounded).

Starts two depth nodes as a user would (`depth_node --ros-args ...`, one subscribing to raw `image`, one
to `image/compressed`), then, from this process, sends malformed messages of every kind the node must
survive (the former worker killers and decompression bombs included) interleaved with valid frames, and
reports:

- valid frames sent / answered (a valid frame is re-sent up to `--retries` times when its depth does not
  come back: transport and mailbox losses are reported apart from frames never answered);
- peak RSS of each node against its idle RSS after start-up (VmHWM / VmRSS from /proc);
- the /diagnostics levels seen, how fast the level left OK once a flood of bad frames stopped output,
  and the per-cause failure counters the node reports.

    .venv/bin/python benchmarks/robustness.py [--model M.onnx] [--messages 10000] [--every 20]

Each round sends `--every` malformed messages of one kind (cycling through the kinds), then one valid
frame, and waits for its depth before the next round; a final flood of undecodable frames measures the
time until /diagnostics reports WARN or ERROR.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from ros_environment import isolated_ros_environment

H, W = 240, 320
K = np.array([[260.0, 0.0, 159.5], [0.0, 260.0, 119.5], [0.0, 0.0, 1.0]])
NAMESPACES = {"raw": "/robust_raw", "compressed": "/robust_compressed"}


def _rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


# -- messages ---------------------------------------------------------------------------------------
def _stamp(msg, index: int) -> None:
    msg.header.stamp.sec, msg.header.stamp.nanosec = 1000 + index // 1000, (index % 1000) * 1000
    msg.header.frame_id = "camera_optical_frame"


def _raw(rgb: np.ndarray, encoding: str = "rgb8"):
    from sensor_msgs.msg import Image

    msg = Image(height=rgb.shape[0], width=rgb.shape[1], encoding=encoding, step=rgb.shape[1] * 3)
    msg.data = rgb.tobytes()
    return msg


def _info(k: np.ndarray = K, width: int = W, height: int = H):
    from sensor_msgs.msg import CameraInfo

    msg = CameraInfo(width=width, height=height)
    msg.k = np.asarray(k, np.float64).ravel().tolist()
    msg.p = np.hstack([np.asarray(k, np.float64), np.zeros((3, 1))]).ravel().tolist()
    return msg


def _compressed(data: bytes, fmt: str = "jpeg"):
    from sensor_msgs.msg import CompressedImage

    msg = CompressedImage(format=fmt)
    msg.data = data
    return msg


def _jpeg(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def _jpeg_bomb(rgb: np.ndarray) -> bytes:
    data = bytearray(_jpeg(rgb[:16, :16]))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (12000).to_bytes(2, "big") * 2
    return bytes(data)


def _png_bomb() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    ihdr = (100000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


def _scaled_info(edit: Callable[[np.ndarray, np.ndarray], None], width: int, height: int):
    info = _info(K * np.array([[width / W] * 3, [height / H] * 3, [1, 1, 1]]), width, height)
    k, p = np.array(info.k), np.array(info.p)
    edit(k, p)
    info.k, info.p = k.tolist(), p.tolist()
    return info


def malformed_kinds(rgb: np.ndarray) -> dict[str, tuple[str, str, Callable[[], object]]]:
    """Kind -> (node, channel: "image" or "camera_info", message factory)."""
    small = rgb[:48, :64].copy()

    def raw_with(**fields):
        def make():
            msg = _raw(small)
            for key, value in fields.items():
                setattr(msg, key, value)
            return msg

        return make

    def corrupt_jpeg():
        data = bytearray(_jpeg(rgb))
        rng = np.random.default_rng(len(data))
        for offset in rng.integers(len(data) // 4, len(data) - 4, 3):
            data[offset] ^= 0xFF
        return _compressed(bytes(data))

    nan = float("nan")

    def info_with(width: int, height: int, **entries: float) -> Callable[[], object]:
        """A camera_info for width x height with K/P entries (`k0`, `k8`, `p10`, ...) overwritten."""

        def edit(k: np.ndarray, p: np.ndarray) -> None:
            for key, value in entries.items():
                (k if key[0] == "k" else p)[int(key[1:])] = value

        return lambda: _scaled_info(edit, width, height)

    zero = {f"k{i}": 0.0 for i in range(9)} | {f"p{i}": 0.0 for i in range(12)}
    return {
        "encoding nv21": ("raw", "image", raw_with(encoding="nv21")),
        "encoding 8UC3": ("raw", "image", raw_with(encoding="8UC3")),
        "depth encoding as image": ("raw", "image", raw_with(encoding="32FC1", step=64 * 4)),
        "truncated data": ("raw", "image", raw_with(data=small.tobytes()[:100])),
        "zero size": ("raw", "image", raw_with(height=0, width=0, step=0, data=b"")),
        "step too small": ("raw", "image", raw_with(step=10)),
        "header 100000x100000": ("raw", "image", raw_with(height=100000, width=100000, step=300000)),
        "camera_info NaN in K row 3 (resized)": ("raw", "camera_info", info_with(160, 120, k8=nan)),
        "camera_info NaN in P[8] (resized)": ("raw", "camera_info", info_with(160, 120, p10=nan)),
        "camera_info fx 1e308": ("raw", "camera_info", info_with(160, 120, k0=1e308, p0=1e308)),
        "camera_info fx 5e-324": ("raw", "camera_info", info_with(640, 480, k0=5e-324, p0=5e-324)),
        "camera_info all zero": ("raw", "camera_info", info_with(W, H, **zero)),
        "camera_info zero size": ("raw", "camera_info", lambda: _info(K, 0, 0)),
        "JPEG bomb 12000x12000": ("compressed", "image", lambda: _compressed(_jpeg_bomb(rgb))),
        "PNG bomb 100000x100000": ("compressed", "image", lambda: _compressed(_png_bomb(), "png")),
        "bit-flipped JPEG": ("compressed", "image", corrupt_jpeg),
        "truncated JPEG": ("compressed", "image", lambda: _compressed(_jpeg(rgb)[:2000])),
        "garbage bytes": ("compressed", "image", lambda: _compressed(os.urandom(512))),
        "empty data": ("compressed", "image", lambda: _compressed(b"")),
        "compressedDepth payload": (
            "compressed", "image", lambda: _compressed(_jpeg(rgb), "16UC1; compressedDepth")),
    }  # fmt: skip


# -- the run ----------------------------------------------------------------------------------------
class Probe:
    """Publishers to both nodes, subscriptions to their depth and to /diagnostics."""

    def __init__(self) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image

        rclpy.init()
        self.node = rclpy.create_node("disdepth_robustness_probe")
        self.publishers = {}
        for kind, namespace in NAMESPACES.items():
            image_type, topic = (Image, "image") if kind == "raw" else (CompressedImage, "image/compressed")
            self.publishers[kind, "image"] = self.node.create_publisher(
                image_type, f"{namespace}/{topic}", qos_profile_sensor_data
            )
            self.publishers[kind, "camera_info"] = self.node.create_publisher(
                CameraInfo, f"{namespace}/camera_info", qos_profile_sensor_data
            )
        self.lock = threading.Lock()
        self.answered: dict[str, set[tuple[int, int]]] = defaultdict(set)
        self.diagnostics: list[tuple[float, str, int, str, dict[str, str]]] = []
        for kind, namespace in NAMESPACES.items():
            self.node.create_subscription(Image, f"{namespace}/depth/image", self._on_depth(kind), 10)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 50)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _on_depth(self, kind: str) -> Callable:
        def callback(msg) -> None:
            with self.lock:
                self.answered[kind].add((msg.header.stamp.sec, msg.header.stamp.nanosec))

        return callback

    def _on_diagnostics(self, array) -> None:
        now = time.monotonic()
        with self.lock:
            for status in array.status:
                for kind, namespace in NAMESPACES.items():
                    if status.name.startswith(namespace + "/"):
                        values = {kv.key: kv.value for kv in status.values}
                        self.diagnostics.append(
                            (
                                now,
                                kind,
                                int.from_bytes(status.level, "little")
                                if isinstance(status.level, bytes)
                                else int(status.level),
                                status.message,
                                values,
                            )
                        )

    def wait_for(self, kind: str, key: tuple[int, int], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if key in self.answered[kind]:
                    return True
            time.sleep(0.002)
        return False

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown()


def start_nodes(model: str | None, env: dict[str, str]) -> dict[str, subprocess.Popen]:
    launcher = Path(sys.prefix) / "bin" / "depth_node"
    nodes = {}
    for kind, namespace in NAMESPACES.items():
        command = [
            str(launcher),
            "--ros-args",
            "-r",
            f"__ns:={namespace}",
            "-p",
            "device:=cpu",
            "-p",
            "threads:=1",
        ]
        command += ["-p", f"use_compressed:={'true' if kind == 'compressed' else 'false'}"]
        if model:
            command += ["-p", f"model_path:={model}"]
        nodes[kind] = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
    return nodes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model file (default: the shipped model)")
    parser.add_argument("--messages", type=int, default=10000, help="malformed messages in total")
    parser.add_argument("--every", type=int, default=20, help="malformed messages between valid frames")
    parser.add_argument("--retries", type=int, default=3, help="re-sends of a valid frame not answered")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="stop sending after this long")
    args = parser.parse_args()
    env = isolated_ros_environment("robust")
    from disdepth_core.data.synthetic import render_scene

    rgb = render_scene(5, H, W, "room")["image"]
    kinds = malformed_kinds(rgb)
    nodes = start_nodes(args.model, env)
    probe = Probe()
    try:
        return _run(args, probe, nodes, kinds, rgb)
    finally:
        probe.close()
        for process in nodes.values():
            process.terminate()
        for kind, process in nodes.items():
            try:
                _, err = process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                _, err = process.communicate()
            lines = [line for line in err.splitlines() if line.strip()]
            print(f"{kind} node: exit {process.returncode}, {len(lines)} stderr lines (throttled logging)")


def _valid_round(probe: Probe, kind: str, rgb: np.ndarray, index: int, retries: int) -> int:
    """Send valid frame `index` (with a good camera_info) until answered; returns the attempts (0 = never)."""
    image = _raw(rgb) if kind == "raw" else _compressed(_jpeg(rgb))
    info = _info()
    for message in (image, info):
        _stamp(message, index)
    key = (image.header.stamp.sec, image.header.stamp.nanosec)
    for attempt in range(1, retries + 2):
        probe.publishers[kind, "camera_info"].publish(info)
        probe.publishers[kind, "image"].publish(image)
        if probe.wait_for(kind, key, timeout=2.0):
            return attempt
    return 0


def _run(args, probe: Probe, nodes: dict, kinds: dict, rgb: np.ndarray) -> int:
    # Discovery, warm-up and idle RSS.
    index = 0
    for kind in NAMESPACES:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _valid_round(probe, kind, rgb, index, 0):
            index += 1
        index += 1
    time.sleep(1.0)
    idle = {kind: _rss_kb(p.pid, "VmRSS") for kind, p in nodes.items()}
    print("nodes up; idle RSS: " + ", ".join(f"{k} {v / 1024:.0f} MB" for k, v in idle.items()))

    sent: Counter[str] = Counter()
    answers: dict[str, Counter[int]] = defaultdict(
        Counter
    )  # kind of the preceding malformed messages -> attempts
    names = list(kinds)
    started = time.monotonic()
    round_index = 0
    while sum(sent.values()) < args.messages and time.monotonic() - started < args.max_seconds:
        name = names[round_index % len(names)]
        node, channel, make = kinds[name]
        publisher = probe.publishers[node, channel]
        for _ in range(args.every):
            msg = make()
            _stamp(msg, index)
            index += 1
            publisher.publish(msg)
            if channel == "camera_info":  # a bad camera_info must not stop the frames that follow it
                image = _raw(rgb)
                _stamp(image, index)
                probe.publishers[node, "image"].publish(image)
            sent[name] += 1
        answers[name][_valid_round(probe, node, rgb, index, args.retries)] += 1
        index += 1
        round_index += 1
    elapsed = time.monotonic() - started
    peak = {kind: _rss_kb(p.pid, "VmHWM") for kind, p in nodes.items()}
    time_to_warn = _flood_until_warn(probe, rgb, index + 1000)

    total = sum(sent.values())
    print(
        f"\n{total} malformed messages of {len(kinds)} kinds in {elapsed:.0f} s, {args.every} per valid frame"
    )
    print(f"{'kind':40s} {'sent':>6s} {'valid':>6s} {'1st try':>8s} {'retried':>8s} {'never':>6s}")
    for name in names:
        a = answers[name]
        valid = sum(a.values())
        retried = sum(n for attempts, n in a.items() if attempts > 1)
        print(f"{name:40s} {sent[name]:6d} {valid:6d} {a[1]:8d} {retried:8d} {a[0]:6d}")
    never = sum(a[0] for a in answers.values())
    valid_total = sum(sum(a.values()) for a in answers.values())
    resent = sum(n for a in answers.values() for attempts, n in a.items() if attempts > 1)
    print(
        f"valid frames answered: {valid_total - never}/{valid_total} "
        f"({100 * (valid_total - never) / max(valid_total, 1):.1f} %); "
        f"re-sent at least once (transport/mailbox loss): {resent}"
    )
    for kind in NAMESPACES:
        print(
            f"{kind} node RSS: idle {idle[kind] / 1024:.0f} MB, peak {peak[kind] / 1024:.0f} MB "
            f"({peak[kind] / idle[kind]:.2f}x)"
        )
    with probe.lock:
        diagnostics = list(probe.diagnostics)
    for kind in NAMESPACES:
        levels = Counter(level for _, k, level, _, _ in diagnostics if k == kind)
        last = [values for _, k, _, _, values in diagnostics if k == kind][-1:]
        values = last[0] if last else {}
        counters = {k: v for k, v in values.items() if k.startswith("failures") or k == "dropped frames"}
        print(
            f"{kind} node diagnostics levels seen {dict(sorted(levels.items()))} (0 OK, 1 WARN, 2 ERROR); "
            f"counters {counters}"
        )
    flood = "flood of undecodable frames: diagnostics"
    print(
        f"{flood} left OK {time_to_warn:.2f} s after the last published depth"
        if time_to_warn is not None
        else f"{flood} never left OK"
    )
    return 0 if never == 0 else 1


def _flood_until_warn(probe: Probe, rgb: np.ndarray, index: int) -> float | None:
    """Valid frames, then only undecodable ones on the raw node: seconds from the last answered valid frame
    to the first /diagnostics message of that node above OK."""
    attempts = _valid_round(probe, "raw", rgb, index, 3)
    if not attempts:
        return None
    last_answer = time.monotonic()
    bad = _raw(rgb[:48, :64].copy(), "nv21")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _stamp(bad, index)
        probe.publishers["raw", "image"].publish(bad)
        time.sleep(1 / 30)
        with probe.lock:
            for when, kind, level, _, _ in probe.diagnostics:
                if kind == "raw" and level > 0 and when > last_answer:
                    return when - last_answer
    return None


if __name__ == "__main__":
    sys.exit(main())
