"""The one rosbags layer: open, list, find, read and write ROS 2 bags (sqlite3 and mcap), no rclpy.

Used by training data (``data.bag_images``), int8 calibration, ``eval-bag``, the sample-bag writer and
the demo. Errors form one hierarchy (:class:`BagError`) and name the file and topic.
"""

from disdepth_core.bags.errors import BagError, BagReadError, BagTopicError
from disdepth_core.bags.images import (
    CAMERA_INFO_TYPE,
    decode_image_message,
    intrinsics_matrix,
    iter_bag_images,
    read_camera_k,
)
from disdepth_core.bags.reader import (
    IMAGE_TYPES,
    describe_topics,
    deserialize,
    find_topic,
    jazzy_typestore,
    open_bag,
    read_messages,
    stamp_ns,
)
from disdepth_core.bags.stamps import pair_by_stamp
from disdepth_core.bags.writer import STORAGES, BagWriter

__all__ = [
    "CAMERA_INFO_TYPE",
    "IMAGE_TYPES",
    "STORAGES",
    "BagError",
    "BagReadError",
    "BagTopicError",
    "BagWriter",
    "decode_image_message",
    "describe_topics",
    "deserialize",
    "find_topic",
    "intrinsics_matrix",
    "iter_bag_images",
    "jazzy_typestore",
    "open_bag",
    "pair_by_stamp",
    "read_camera_k",
    "read_messages",
    "stamp_ns",
]
