"""A real ROS 2 sample bag from the synthetic renderer: camera images, camera_info and ground-truth depth.

A camera moves smoothly through one procedural scene (`disdepth_core.data.synthetic`); every frame is
recorded at a fixed rate with one header stamp shared by all of its messages (frame_id
`camera_optical_frame`, REP 103 optical frame), and the bag's receive time equals the header stamp:

- `/camera/image_raw` `sensor_msgs/Image` rgb8, or with `compressed=True`
  `/camera/image_raw/compressed` `sensor_msgs/CompressedImage` jpeg (image_transport format string);
- `/camera/camera_info` `sensor_msgs/CameraInfo`: plumb_bob with zero distortion, K from the renderer,
  P = [K | 0], R = I (an ideal rectified pinhole);
- `/camera/depth/image_raw` `sensor_msgs/Image` 16UC1 millimetres, 0 = invalid (REP 118): the exact
  ray-cast depth, invalid where the renderer has none (sky, beyond the scene's maximum depth);
- the robot's TF, as a robot records it (REP 105/120): `/tf_static` (latched, once) with
  `base_footprint -> camera_link` (the camera's height above the ground it drives on, its pitch and roll:
  the renderer's robot mount, held steady as on a real robot) and `camera_link -> camera_optical_frame`
  (REP 103), and `/tf` with `odom -> base_footprint` per frame (the robot driving and turning).

The messages are built with the depth node's conversions and written atomically by
`disdepth_ros.bag_messages.MessageBagWriter`.
"""

from __future__ import annotations

import array
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from tqdm import tqdm

from disdepth_core.bags import STORAGES
from disdepth_core.bags.tf import TF_MSGTYPE, TF_STATIC_TOPIC, TF_TOPIC, StampedTransform, tf_message_cdr
from disdepth_core.data.synthetic import KINDS, intrinsics_matrix, make_scene, render_view
from disdepth_core.data.synthetic.primitives import CameraPose
from disdepth_core.scale import CameraMount, mount_from_angles
from disdepth_core.scale.rotations import (
    BODY_FROM_OPTICAL,
    quaternion_from_matrix,
    rotation_from_rpy,
    rpy_from_matrix,
)
from disdepth_ros.bag_messages import MessageBagWriter
from disdepth_ros.conversions import array_to_image_msg, depth_to_mm_image_msg

__all__ = [
    "BASE_FRAME",
    "FRAME_ID",
    "TOPICS",
    "SampleBagSpec",
    "camera_info_msg",
    "robot_mount",
    "write_sample_bag",
]

FRAME_ID = "camera_optical_frame"
BASE_FRAME = "base_footprint"
ODOM_FRAME = "odom"
LINK_FRAME = "camera_link"
TOPICS = {
    "image": "/camera/image_raw",
    "compressed": "/camera/image_raw/compressed",
    "camera_info": "/camera/camera_info",
    "depth": "/camera/depth/image_raw",
}
START_STAMP_NS = 1_700_000_000 * 1_000_000_000  # fixed, so one spec always gives the same bag
JPEG_FORMAT = "rgb8; jpeg compressed bgr8"  # what image_transport's compressed publisher writes
JPEG_QUALITY = 90


@dataclass(frozen=True)
class SampleBagSpec:
    """What to record: frame count, image size, frame rate (Hz), storage, jpeg or raw, scene seed/kind."""

    frames: int = 60
    height: int = 240
    width: int = 320
    rate_hz: float = 15.0
    storage: str = "mcap"
    compressed: bool = False
    seed: int = 0
    kind: str = "room"

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ValueError(f"frames must be >= 1, got {self.frames}")
        if self.height < 8 or self.width < 8:
            raise ValueError(f"image size must be at least 8x8, got {self.width}x{self.height}")
        if not 0 < self.rate_hz <= 1000:
            raise ValueError(f"rate must be in (0, 1000] Hz, got {self.rate_hz}")
        if self.storage not in STORAGES:
            raise ValueError(f"storage must be one of {', '.join(STORAGES)}, got {self.storage!r}")
        if self.kind not in KINDS:
            raise ValueError(f"scene kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    @property
    def image_topic(self) -> str:
        return TOPICS["compressed"] if self.compressed else TOPICS["image"]

    def stamp_ns(self, index: int) -> int:
        """Header stamp (and receive time) of frame `index`."""
        return START_STAMP_NS + round(index * 1e9 / self.rate_hz)


def camera_info_msg(k: np.ndarray, width: int, height: int, header: Header) -> CameraInfo:
    """An ideal rectified pinhole `CameraInfo`: plumb_bob with zero distortion, R = I, P = [K | 0]."""
    k = np.asarray(k, dtype=np.float64).reshape(3, 3)
    projection = np.zeros((3, 4))
    projection[:, :3] = k
    return CameraInfo(
        header=header,
        height=int(height),
        width=int(width),
        distortion_model="plumb_bob",
        d=[0.0] * 5,
        k=k.ravel(),
        r=np.eye(3).ravel(),
        p=projection.ravel(),
    )


def _compressed_msg(rgb: np.ndarray, header: Header) -> CompressedImage:
    ok, encoded = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    if not ok:
        raise RuntimeError("OpenCV could not jpeg-encode a rendered frame")
    msg = CompressedImage(header=header, format=JPEG_FORMAT)
    msg.data = array.array("B", encoded.tobytes())
    return msg


def _steady(poses: list[CameraPose]) -> tuple[list[CameraPose], float, float, float]:
    """The renderer's camera path with the first pose's pitch and roll held (a camera bolted to a robot:
    the robot drives and turns, the mount does not bob); returns the poses, height, pitch and roll."""
    roll, pitch, _ = rpy_from_matrix(poses[0].rotation @ BODY_FROM_OPTICAL.T)
    steady = []
    for pose in poses:
        _, _, yaw = rpy_from_matrix(pose.rotation @ BODY_FROM_OPTICAL.T)
        steady.append(
            CameraPose(pose.position, rotation_from_rpy(roll, pitch, yaw) @ BODY_FROM_OPTICAL, pose.ground_z)
        )
    return steady, float(poses[0].position[2] - poses[0].ground_z), pitch, roll


def robot_mount(spec: SampleBagSpec) -> CameraMount:
    """The camera mount recorded in the bag of ``spec`` (what its `/tf_static` says)."""
    _, poses, _ = make_scene(spec.seed, spec.kind, spec.frames)  # the path depends on the frame count
    _, height, pitch, roll = _steady(poses)
    return mount_from_angles(height, math.degrees(pitch), math.degrees(roll), f"sample bag seed {spec.seed}")


def _tf_static(stamp: int, height: float, pitch: float, roll: float) -> bytes:
    link = quaternion_from_matrix(rotation_from_rpy(roll, pitch, 0.0))
    optical = quaternion_from_matrix(BODY_FROM_OPTICAL)
    return tf_message_cdr(
        [
            StampedTransform(BASE_FRAME, LINK_FRAME, stamp, (0.0, 0.0, height), tuple(link)),
            StampedTransform(LINK_FRAME, FRAME_ID, stamp, (0.0, 0.0, 0.0), tuple(optical)),
        ]
    )


def _tf_odom(stamp: int, pose: CameraPose) -> bytes:
    _, _, yaw = rpy_from_matrix(pose.rotation @ BODY_FROM_OPTICAL.T)
    base = (float(pose.position[0]), float(pose.position[1]), float(pose.ground_z))
    heading = quaternion_from_matrix(rotation_from_rpy(0.0, 0.0, yaw))
    return tf_message_cdr([StampedTransform(ODOM_FRAME, BASE_FRAME, stamp, base, tuple(heading))])


def write_sample_bag(out: str | Path, spec: SampleBagSpec | None = None, progress: bool = True) -> Path:
    """Render `spec.frames` frames and write them as a ROS 2 bag at `out` (must not exist); returns `out`."""
    spec = spec or SampleBagSpec()
    out = Path(out)
    scene, poses, (fx_n, cx_n, cy_n) = make_scene(spec.seed, spec.kind, spec.frames)
    poses, height, pitch, roll = _steady(poses)
    k = intrinsics_matrix(fx_n, cx_n, cy_n, spec.height, spec.width)
    with MessageBagWriter(out, spec.storage) as writer:
        writer.add_message_topic(spec.image_topic, CompressedImage if spec.compressed else Image)
        writer.add_message_topic(TOPICS["camera_info"], CameraInfo)
        writer.add_message_topic(TOPICS["depth"], Image)
        writer.add_topic(TF_STATIC_TOPIC, TF_MSGTYPE, latched=True)
        writer.add_topic(TF_TOPIC, TF_MSGTYPE)
        writer.write(TF_STATIC_TOPIC, _tf_static(spec.stamp_ns(0), height, pitch, roll), spec.stamp_ns(0))
        frames = tqdm(poses, desc=f"rendering {out.name}", unit="frame", disable=not progress, leave=False)
        for index, pose in enumerate(frames):
            view = render_view(scene, pose, k, spec.height, spec.width)
            stamp = spec.stamp_ns(index)
            header = Header(
                stamp=Time(sec=stamp // 1_000_000_000, nanosec=stamp % 1_000_000_000), frame_id=FRAME_ID
            )
            image = (
                _compressed_msg(view["image"], header)
                if spec.compressed
                else array_to_image_msg(view["image"], "rgb8", header)
            )
            writer.write(TF_TOPIC, _tf_odom(stamp, pose), stamp)
            writer.write_message(
                TOPICS["camera_info"], camera_info_msg(view["K"], spec.width, spec.height, header), stamp
            )
            writer.write_message(spec.image_topic, image, stamp)
            writer.write_message(TOPICS["depth"], depth_to_mm_image_msg(view["depth"], header), stamp)
    return out
