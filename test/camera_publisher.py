"""A camera in its own process for launch tests: bgr8 frames and camera_info at a fixed rate.

    python test/camera_publisher.py [--width 640] [--height 480] [--rate 10] [--reliability reliable]
        [--image-topic /camera/image_raw] [--info-topic /camera/camera_info]

Publishes an Image and its CameraInfo (frame_id camera_optical_frame, pinhole
K with fx = fy = 0.8 x width, principal point at the centre), stamped with the publish time, until
SIGINT or SIGTERM. The image is a fixed textured gradient (a network sees structure, not a flat frame);
the ROS environment (domain, RMW) comes from the caller's environment.
"""

from __future__ import annotations

import argparse
import signal

import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

FRAME_ID = "camera_optical_frame"


def textured_frame(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A bgr8 frame: horizontal and vertical gradients plus fixed noise."""
    rows = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    cols = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    noise = np.random.default_rng(seed).uniform(-40, 40, (height, width, 3)).astype(np.float32)
    base = np.stack([np.broadcast_to(cols, (height, width)), np.broadcast_to(rows, (height, width))], axis=-1)
    bgr = np.concatenate([base, 255 - base[..., :1]], axis=-1) + noise
    return np.clip(bgr, 0, 255).astype(np.uint8)


def camera_messages(height: int, width: int) -> tuple[Image, CameraInfo]:
    image = Image(height=height, width=width, encoding="bgr8", is_bigendian=0, step=width * 3)
    image.data = textured_frame(height, width).tobytes()
    focal = 0.8 * width
    cx, cy = (width - 1) / 2, (height - 1) / 2
    info = CameraInfo(height=height, width=width, distortion_model="plumb_bob")
    info.d = [0.0] * 5
    info.k = [focal, 0.0, cx, 0.0, focal, cy, 0.0, 0.0, 1.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [focal, 0.0, cx, 0.0, 0.0, focal, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    image.header.frame_id = info.header.frame_id = FRAME_ID
    return image, info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--rate", type=float, default=10.0, help="frames per second")
    parser.add_argument("--reliability", choices=("reliable", "best_effort"), default="reliable")
    parser.add_argument("--image-topic", default="/camera/image_raw")
    parser.add_argument("--info-topic", default="/camera/camera_info")
    args = parser.parse_args()

    rclpy.init()
    signal.signal(signal.SIGTERM, lambda *_: rclpy.try_shutdown())
    node = rclpy.create_node("test_camera")
    qos = QoSProfile(
        depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy[args.reliability.upper()]
    )
    image_publisher = node.create_publisher(Image, args.image_topic, qos)
    info_publisher = node.create_publisher(CameraInfo, args.info_topic, qos)
    image, info = camera_messages(args.height, args.width)

    def publish() -> None:
        image.header.stamp = info.header.stamp = node.get_clock().now().to_msg()
        image_publisher.publish(image)
        info_publisher.publish(info)

    node.create_timer(1.0 / args.rate, publish)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
