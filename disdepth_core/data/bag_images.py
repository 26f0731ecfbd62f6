"""Images from a ROS 2 bag (sqlite3 ``.db3`` or ``.mcap``) with the pure-Python ``rosbags`` library.

``iter_bag_images`` yields ``(stamp_ns, rgb uint8 H x W x 3)`` lazily for one topic of type
``sensor_msgs/msg/Image`` (any encoding ``disdepth_core.image_encodings`` decodes) or
``sensor_msgs/msg/CompressedImage``. The stamp is the message header's (sensor time); if that is zero
the bag's receive time is used. A missing topic raises ``BagTopicError`` listing the bag's topics; a
corrupt or truncated bag raises ``BagReadError`` naming the file and how many messages got through.
``BagImageDataset`` wraps it as a torch ``IterableDataset`` of unlabeled samples (image, K if known).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.typesys import Stores, get_typestore
from torch.utils.data import IterableDataset, get_worker_info

from disdepth_core.image_encodings import decode_compressed, decode_image

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
CAMERA_INFO_TYPE = "sensor_msgs/msg/CameraInfo"


class BagTopicError(KeyError):
    """The requested topic is absent from the bag or has the wrong type; the message lists the topics."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class BagReadError(RuntimeError):
    """The bag cannot be opened, or reading stopped part-way (``messages_read`` got through)."""

    def __init__(self, message: str, messages_read: int = 0) -> None:
        super().__init__(message)
        self.messages_read = messages_read


def _open(path: Path) -> AnyReader:
    if not path.exists():
        raise FileNotFoundError(f"bag {path} does not exist (pass a .db3/.mcap file or a rosbag2 folder)")
    try:
        reader = AnyReader([path], default_typestore=get_typestore(Stores.ROS2_JAZZY))
        reader.open()
    except (AnyReaderError, OSError, ValueError, KeyError) as error:
        text = str(error)
        if "end magic" in text or "footer" in text:
            hint = (
                "the MCAP file is truncated (recording interrupted?): repair it with `mcap recover IN -o OUT`"
            )
        elif "malformed" in text:
            hint = "the sqlite3 file is damaged: try `sqlite3 BAG.db3 .recover | sqlite3 FIXED.db3`"
        else:
            hint = "is it a ROS 2 bag (sqlite3 .db3 or .mcap, or their folder)?"
        raise BagReadError(f"cannot open bag {path} (0 messages read): {error}; {hint}") from error
    return reader


def list_topics(reader: AnyReader) -> str:
    """One line per topic: name, type and message count."""
    lines = [
        f"  {name} ({info.msgtype}, {info.msgcount} msgs)" for name, info in sorted(reader.topics.items())
    ]
    return "\n".join(lines) or "  (no topics)"


def _connections(reader: AnyReader, path: Path, topic: str, types: tuple[str, ...]) -> list[Any]:
    conns = [c for c in reader.connections if c.topic == topic]
    if not conns:
        raise BagTopicError(f"topic {topic!r} is not in bag {path}; the bag has:\n{list_topics(reader)}")
    wrong = sorted({c.msgtype for c in conns if c.msgtype not in types})
    if wrong:
        raise BagTopicError(
            f"topic {topic!r} in bag {path} has type {', '.join(wrong)}; expected {' or '.join(types)}"
        )
    return conns


def _stamp_ns(msg: Any, fallback: int) -> int:
    stamp = int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)
    return stamp if stamp > 0 else int(fallback)


def _decode(msg: Any, msgtype: str) -> np.ndarray:
    if msgtype == "sensor_msgs/msg/CompressedImage":
        return decode_compressed(msg.format, msg.data.tobytes())
    return decode_image(
        msg.encoding, msg.height, msg.width, msg.step, msg.data.tobytes(), bool(msg.is_bigendian)
    )


def iter_bag_images(bag_path: str | Path, topic: str, every: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """``(stamp_ns, rgb)`` for every ``every``-th message of ``topic``, in bag (receive-time) order."""
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    path = Path(bag_path)
    reader = _open(path)
    try:
        conns = _connections(reader, path, topic, IMAGE_TYPES)
        messages = reader.messages(connections=conns)
        count = 0
        while True:
            try:
                conn, timestamp, raw = next(messages)
            except StopIteration:
                return
            except Exception as error:  # storage backends raise their own types for damaged files
                raise BagReadError(
                    f"bag {path} is corrupt or truncated: reading {topic} stopped after {count} messages "
                    f"({type(error).__name__}: {error}); repair it (mcap recover, sqlite3 .recover) "
                    "or re-record",
                    count,
                ) from error
            if count % every == 0:
                msg = reader.deserialize(raw, conn.msgtype)
                try:
                    image = _decode(msg, conn.msgtype)
                except ValueError as error:
                    raise BagReadError(
                        f"bag {path}, {topic} message {count}: not a decodable image: {error}", count
                    ) from error
                yield _stamp_ns(msg, timestamp), image
            count += 1
    finally:
        reader.close()


def read_bag_camera_k(bag_path: str | Path, topic: str) -> np.ndarray:
    """K (3 x 3 float32) of the first ``sensor_msgs/msg/CameraInfo`` on ``topic`` (P if non-zero, else K)."""
    path = Path(bag_path)
    reader = _open(path)
    try:
        conns = _connections(reader, path, topic, (CAMERA_INFO_TYPE,))
        for conn, _, raw in reader.messages(connections=conns):
            msg = reader.deserialize(raw, conn.msgtype)
            p = np.asarray(msg.p, dtype=np.float64).reshape(3, 4)
            k = p[:, :3] if np.any(p) else np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
            return k.astype(np.float32)
    finally:
        reader.close()
    raise BagTopicError(f"topic {topic!r} in bag {path} has no messages")


class BagImageDataset(IterableDataset):
    """Unlabeled samples (``image``, plus ``K`` when ``camera_info_topic`` is given) from a bag topic.

    With several DataLoader workers, each takes every ``num_workers``-th kept frame.
    """

    def __init__(
        self, bag_path: str | Path, topic: str, every: int = 1, camera_info_topic: str | None = None
    ) -> None:
        self.bag_path, self.topic, self.every = Path(bag_path), topic, every
        self.k = read_bag_camera_k(bag_path, camera_info_topic) if camera_info_topic else None

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        info = get_worker_info()
        worker, n_workers = (0, 1) if info is None else (info.id, info.num_workers)
        for i, (stamp, image) in enumerate(iter_bag_images(self.bag_path, self.topic, self.every)):
            if i % n_workers != worker:
                continue
            sample = {"image": image, "stamp_ns": np.int64(stamp)}
            if self.k is not None:
                sample["K"] = self.k.copy()
            yield sample
