"""TF in bags: write ``tf2_msgs/msg/TFMessage`` records and read a bag's ``/tf`` and ``/tf_static`` into a
:class:`~disdepth_core.scale.TransformBuffer` (rosbags knows the type; no tf2 packages needed).

A robot recording carries its camera mount this way (REP 105/120: ``odom -> base_footprint`` on
``/tf``, the fixed ``base_footprint -> camera_link -> camera_optical_frame`` chain on ``/tf_static``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.bags.errors import BagReadError
from disdepth_core.bags.reader import deserialize, jazzy_typestore, read_messages, stamp_ns
from disdepth_core.scale.transforms import TransformBuffer

__all__ = ["TF_MSGTYPE", "TF_STATIC_TOPIC", "TF_TOPIC", "StampedTransform", "read_tf", "tf_message_cdr"]

TF_TOPIC, TF_STATIC_TOPIC = "/tf", "/tf_static"
TF_MSGTYPE = "tf2_msgs/msg/TFMessage"


@dataclass(frozen=True)
class StampedTransform:
    """``parent <- child`` at ``stamp_ns``: translation (m) and quaternion (x, y, z, w)."""

    parent: str
    child: str
    stamp_ns: int
    translation: tuple[float, float, float]
    quaternion: tuple[float, float, float, float]


def tf_message_cdr(transforms: Sequence[StampedTransform]) -> bytes:
    """One ``TFMessage`` holding ``transforms``, as CDR bytes for :class:`~disdepth_core.bags.BagWriter`."""
    store = jazzy_typestore()
    types = store.types
    header_t, time_t = types["std_msgs/msg/Header"], types["builtin_interfaces/msg/Time"]
    stamped_t, transform_t = types["geometry_msgs/msg/TransformStamped"], types["geometry_msgs/msg/Transform"]
    vector_t, quaternion_t = types["geometry_msgs/msg/Vector3"], types["geometry_msgs/msg/Quaternion"]
    message = types[TF_MSGTYPE](
        transforms=[
            stamped_t(
                header=header_t(
                    stamp=time_t(sec=t.stamp_ns // 1_000_000_000, nanosec=t.stamp_ns % 1_000_000_000),
                    frame_id=t.parent,
                ),
                child_frame_id=t.child,
                transform=transform_t(
                    translation=vector_t(*map(float, t.translation)),
                    rotation=quaternion_t(*map(float, t.quaternion)),
                ),
            )
            for t in transforms
        ]
    )
    return bytes(store.serialize_cdr(message, TF_MSGTYPE))


def read_tf(reader: Any, bag: str | Path, buffer: TransformBuffer) -> int:
    """Every transform on the bag's ``/tf`` and ``/tf_static`` into ``buffer``; returns how many. Malformed
    records and transforms are skipped (a damaged TF message must not stop an evaluation)."""
    connections = [
        c for c in reader.connections if c.topic in (TF_TOPIC, TF_STATIC_TOPIC) and c.msgtype == TF_MSGTYPE
    ]
    if not connections:  # rosbags reads every topic when given no connection
        return 0
    count = 0
    try:
        for connection, _, raw in read_messages(reader, connections, bag):
            try:
                message = deserialize(reader, raw, connection, bag)
            except BagReadError:
                continue
            for stamped in message.transforms:
                t, q = stamped.transform.translation, stamped.transform.rotation
                try:
                    buffer.set_transform(
                        stamped.header.frame_id,
                        stamped.child_frame_id,
                        stamp_ns(stamped.header.stamp),
                        np.array([t.x, t.y, t.z]),
                        np.array([q.x, q.y, q.z, q.w]),
                        static=connection.topic == TF_STATIC_TOPIC,
                    )
                except ValueError:
                    continue
                count += 1
    except BagReadError:
        pass  # a damaged bag: the transforms read so far are kept; the image pass reports the damage
    return count
