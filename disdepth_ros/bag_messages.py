"""rclpy messages in and out of bags: the ROS side of the one bag layer (`disdepth_core.bags`).

Bag records are CDR; `read_message` turns one into the rclpy message the depth node itself receives
(`rclpy.serialization`, byte-identical to rosbags' CDR), and `MessageBagWriter` serialises rclpy messages
into a `disdepth_core.bags.BagWriter` (atomic: the bag appears only when complete).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2, Range

from disdepth_core.bags import BagReadError, BagWriter

__all__ = ["MESSAGE_TYPES", "MessageBagWriter", "msgtype_name", "read_message"]

MESSAGE_TYPES: dict[str, type] = {
    "sensor_msgs/msg/Image": Image,
    "sensor_msgs/msg/CompressedImage": CompressedImage,
    "sensor_msgs/msg/CameraInfo": CameraInfo,
    "sensor_msgs/msg/PointCloud2": PointCloud2,
    "sensor_msgs/msg/Range": Range,
}


def msgtype_name(cls: type) -> str:
    """`sensor_msgs.msg.Image` -> `sensor_msgs/msg/Image` (the rosbag2 type name)."""
    return f"{cls.__module__.split('.')[0]}/msg/{cls.__name__}"


def read_message(raw: bytes | memoryview, msgtype: str, topic: str, bag: str | Path) -> Any:
    """One bag record as an rclpy message; BagReadError naming the bag and topic when it is malformed."""
    cls = MESSAGE_TYPES.get(msgtype)
    if cls is None:
        raise BagReadError(f"bag {bag}, topic {topic}: unsupported type {msgtype}")
    try:
        return deserialize_message(bytes(raw), cls)
    except Exception as error:  # rclpy raises RMWError (and others) for malformed CDR
        raise BagReadError(f"bag {bag}, topic {topic}: malformed {msgtype} record ({error})") from error


class MessageBagWriter(BagWriter):
    """A `BagWriter` that also takes rclpy message classes and messages."""

    def add_message_topic(self, topic: str, msg_class: type) -> None:
        """Declare `topic` carrying rclpy message class `msg_class`."""
        self.add_topic(topic, msgtype_name(msg_class))

    def write_message(self, topic: str, msg: Any, timestamp_ns: int) -> None:
        """Serialise the rclpy `msg` and append it to `topic` at receive time `timestamp_ns`."""
        self.write(topic, serialize_message(msg), timestamp_ns)
