"""Camera images and intrinsics from a bag: decode ``sensor_msgs/Image`` and ``CompressedImage`` records.

The stamp of an image is its header stamp (sensor time); when that is zero the bag's receive time is
used. Decoding goes through :mod:`disdepth_core.image_encodings`, the depth node's own decoders.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.bags.errors import BagReadError, BagTopicError
from disdepth_core.bags.reader import IMAGE_TYPES, deserialize, find_topic, open_bag, read_messages, stamp_ns
from disdepth_core.image_encodings import decode_compressed, decode_image

__all__ = [
    "CAMERA_INFO_TYPE",
    "decode_image_message",
    "intrinsics_matrix",
    "iter_bag_images",
    "read_camera_k",
]

CAMERA_INFO_TYPE = "sensor_msgs/msg/CameraInfo"


def _bytes(data: Any) -> bytes | memoryview:
    return data.tobytes() if isinstance(data, np.ndarray) else data


def decode_image_message(msg: Any, msgtype: str) -> np.ndarray:
    """RGB uint8 H x W x 3 of an Image or CompressedImage message (rosbags or rclpy); ValueError if bad."""
    if msgtype.endswith("CompressedImage"):
        return decode_compressed(msg.format, _bytes(msg.data))
    return decode_image(
        msg.encoding, msg.height, msg.width, msg.step, _bytes(msg.data), bool(msg.is_bigendian)
    )


def intrinsics_matrix(msg: Any) -> np.ndarray | None:
    """The 3 x 3 intrinsics of a CameraInfo (P's left block when P is non-zero, else K; REP 104),
    or None for an uncalibrated (all-zero) camera_info."""
    p = np.asarray(msg.p, dtype=np.float64).reshape(3, 4)
    k = p[:, :3] if np.any(p) else np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    return k if np.any(k) else None


def iter_bag_images(bag_path: str | Path, topic: str, every: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """``(stamp_ns, rgb)`` for every ``every``-th message of ``topic``, in receive-time order.

    Raises BagTopicError for a missing or non-image topic, BagReadError for damaged storage or a message
    that is not a decodable image (naming the bag, topic and message index).
    """
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    path = Path(bag_path)
    with open_bag(path) as reader:
        connections = find_topic(reader, topic, IMAGE_TYPES, path)
        for count, (connection, receive_ns, raw) in enumerate(read_messages(reader, connections, path)):
            if count % every:
                continue
            msg = deserialize(reader, raw, connection, path)
            try:
                image = decode_image_message(msg, connection.msgtype)
            except ValueError as error:
                raise BagReadError(
                    f"bag {path}, {topic} message {count}: not a decodable image: {error}", count
                ) from error
            stamp = stamp_ns(msg.header.stamp)
            yield (stamp if stamp > 0 else int(receive_ns)), image


def read_camera_k(bag_path: str | Path, topic: str) -> np.ndarray:
    """Intrinsics (3 x 3 float32) of the first calibrated ``CameraInfo`` on ``topic``."""
    path = Path(bag_path)
    with open_bag(path) as reader:
        connections = find_topic(reader, topic, (CAMERA_INFO_TYPE,), path)
        for connection, _, raw in read_messages(reader, connections, path):
            k = intrinsics_matrix(deserialize(reader, raw, connection, path))
            if k is not None:
                return k.astype(np.float32)
    raise BagTopicError(f"topic {topic!r} in bag {path} has no calibrated camera_info (K and P all zero)")
