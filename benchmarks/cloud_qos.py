"""Point clouds reaching a best-effort subscriber (as Nav2's costmap subscribes) against a reliable one.

    .venv/bin/python benchmarks/cloud_qos.py [--strides 1 2 4] [--seconds 20] [--rate 10]

For each `cloud_stride`: `ros2 launch disdepth depth.launch.py` (default params otherwise) with a 640x480
bgr8 camera in another process (test/camera_publisher.py); in this process one reliable and one
best-effort subscriber on `points` count the clouds each receives in the same window. Both read one
publisher, so their ratio is the loss a best-effort reader suffers in transport (Fast DDS, this machine).
Needs the ROS 2 launch stack (test/launch_fixtures.py says how to get it); prints one line per stride.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml
from ros_environment import isolated_ros_environment

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))  # the launch-test helpers
from launch_fixtures import LAUNCH_STACK_MISSING, REPO, Probe, camera_launch_probe, wait_until


def measure(stride: int, seconds: float, rate: float) -> tuple[int, int, int]:
    """(cloud bytes, clouds received reliably, clouds received best effort) for one cloud_stride."""
    from sensor_msgs.msg import PointCloud2

    env = isolated_ros_environment("cloud-qos")
    log_dir = Path(tempfile.mkdtemp(dir=env["ROS_LOG_DIR"]))
    (parameters,) = yaml.safe_load((REPO / "config" / "depth.yaml").read_text()).values()
    parameters["ros__parameters"]["cloud_stride"] = stride
    params_file = log_dir / "params.yaml"
    params_file.write_text(yaml.safe_dump({"/**/depth_node": parameters}))
    with camera_launch_probe(
        env, log_dir, "depth.launch.py", f"params_file:={params_file}", rate=str(rate)
    ) as (launch, reliable):
        best_effort = Probe(int(env["ROS_DOMAIN_ID"]), "best_effort_reader")
        try:
            reliable.subscribe(PointCloud2, "/points", reliable=True)
            best_effort.subscribe(PointCloud2, "/points", reliable=False)
            if not wait_until(lambda: reliable.received("/points"), 60):
                raise RuntimeError(f"no cloud within 60 s:\n{launch.output()}")
            start = time.monotonic()
            time.sleep(seconds)
            clouds = reliable.received("/points", since=start)
            return len(clouds[-1].data), len(clouds), len(best_effort.received("/points", since=start))
        finally:
            best_effort.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strides", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=10.0, help="camera frames per second")
    args = parser.parse_args()
    if LAUNCH_STACK_MISSING:
        print(LAUNCH_STACK_MISSING, file=sys.stderr)
        return 1
    print(f"640x480 camera at {args.rate:g} Hz, {args.seconds:g} s per stride")
    for stride in args.strides:
        size, reliable, best_effort = measure(stride, args.seconds, args.rate)
        ratio = best_effort / reliable if reliable else float("nan")
        print(
            f"cloud_stride {stride}: {size / 1e6:.2f} MB clouds; reliable reader {reliable}, "
            f"best-effort reader {best_effort} ({100 * ratio:.0f} %)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
