"""Serialised ROS 2 messages (CDR bytes for :class:`~disdepth_core.bags.BagWriter`) without rclpy.

Built from the Jazzy type store of ``rosbags``, for tools that record bags from plain arrays (the
distill-bag benchmark turns image folders into bags; tests make synthetic recordings). Conventions as
the depth node's: ``sensor_msgs/Image`` rgb8 for colour, 32FC1 metres with NaN invalid for depth
(REP 118), ``CameraInfo`` of an ideal rectified pinhole (plumb_bob, zero distortion, R = I, P = [K | 0]).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disdepth_core.bags.reader import jazzy_typestore
from disdepth_core.geometry import valid_depth
from disdepth_core.image_encodings import encode_image

__all__ = ["CAMERA_INFO", "IMAGE", "camera_info_cdr", "depth_image_cdr", "rgb_image_cdr"]

IMAGE = "sensor_msgs/msg/Image"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"


def _header(stamp_ns: int, frame_id: str) -> Any:
    types = jazzy_typestore().types
    stamp = types["builtin_interfaces/msg/Time"](
        sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000
    )
    return types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)


def _image_cdr(array: np.ndarray, encoding: str, stamp_ns: int, frame_id: str) -> bytes:
    step, data = encode_image(array, encoding)
    msg = jazzy_typestore().types[IMAGE](
        header=_header(stamp_ns, frame_id),
        height=array.shape[0],
        width=array.shape[1],
        encoding=encoding,
        is_bigendian=0,
        step=step,
        data=np.frombuffer(data, np.uint8),
    )
    return bytes(jazzy_typestore().serialize_cdr(msg, IMAGE))


def rgb_image_cdr(rgb: np.ndarray, stamp_ns: int, frame_id: str = "camera_optical_frame") -> bytes:
    """An rgb8 ``sensor_msgs/Image`` of a uint8 H x W x 3 RGB array."""
    return _image_cdr(np.ascontiguousarray(rgb, np.uint8), "rgb8", stamp_ns, frame_id)


def depth_image_cdr(depth: np.ndarray, stamp_ns: int, frame_id: str = "camera_optical_frame") -> bytes:
    """A 32FC1 ``sensor_msgs/Image`` of depth in metres (0 and non-finite become NaN)."""
    metres = np.asarray(depth, np.float32).copy()
    metres[~valid_depth(metres)] = np.nan
    return _image_cdr(metres, "32FC1", stamp_ns, frame_id)


def camera_info_cdr(
    k: np.ndarray, width: int, height: int, stamp_ns: int, frame_id: str = "camera_optical_frame"
) -> bytes:
    """An ideal rectified pinhole ``CameraInfo`` with intrinsics ``k`` (3 x 3)."""
    types = jazzy_typestore().types
    k = np.asarray(k, np.float64).reshape(3, 3)
    projection = np.zeros((3, 4))
    projection[:, :3] = k
    roi = types["sensor_msgs/msg/RegionOfInterest"](
        x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
    )
    msg = types[CAMERA_INFO](
        header=_header(stamp_ns, frame_id),
        height=int(height),
        width=int(width),
        distortion_model="plumb_bob",
        d=np.zeros(5),
        k=k.ravel(),
        r=np.eye(3).ravel(),
        p=projection.ravel(),
        binning_x=0,
        binning_y=0,
        roi=roi,
    )
    return bytes(jazzy_typestore().serialize_cdr(msg, CAMERA_INFO))
