"""ROS 2 bag input/output shared by `make-sample-bag`, `eval-bag` and the demo (DESIGN.md: `rosbags`).

Bags are read and written with the pure-Python `rosbags` library (sqlite3 and mcap storage, rosbag2
format version 9); no `ros2 bag` is needed. Messages are the rclpy `sensor_msgs` objects that the depth
node itself consumes and publishes: bag records are deserialised with `rclpy.serialization` (CDR), and
written messages are built by the node's own conversions (`disdepth_ros.conversions` /
`disdepth_ros.outputs`) and serialised the same way. rclpy and rosbags produce byte-identical CDR;
rosbags contributes the storage and the message definitions (Jazzy typestore). ROS 1 `.bag` files are
not supported: convert them with `rosbags-convert` first.

Written bags appear atomically: they are written into a hidden temporary directory next to the target
and renamed into place when complete, so a crash never leaves a half-written bag under the target name.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from rclpy.serialization import deserialize_message, serialize_message
from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.interfaces import Connection
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

__all__ = [
    "STORAGES",
    "BagError",
    "BagReadError",
    "BagWriter",
    "describe_topics",
    "deserialize",
    "find_topic",
    "jazzy_typestore",
    "open_bag",
    "read_messages",
    "stamp_ns",
]

STORAGES: dict[str, StoragePlugin] = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
BAG_VERSION = Writer.VERSION_LATEST  # rosbag2 metadata version 9 (Jazzy)
MESSAGE_TYPES: dict[str, type] = {
    "sensor_msgs/msg/Image": Image,
    "sensor_msgs/msg/CompressedImage": CompressedImage,
    "sensor_msgs/msg/CameraInfo": CameraInfo,
    "sensor_msgs/msg/PointCloud2": PointCloud2,
}
_BAG_HINT = "expected a ROS 2 bag directory (metadata.yaml + .db3/.mcap) or a single .mcap file"


class BagError(RuntimeError):
    """A bag that cannot be opened, read or written; the message names the file or topic."""


class BagReadError(BagError):
    """Reading stopped part-way through a bag (corrupt or truncated storage); `messages_read` got through."""

    def __init__(self, message: str, messages_read: int) -> None:
        super().__init__(message)
        self.messages_read = messages_read


@functools.cache
def jazzy_typestore() -> Typestore:
    """The ROS 2 Jazzy message definitions (for writing connections and reading bags without any)."""
    return get_typestore(Stores.ROS2_JAZZY)


def stamp_ns(stamp: Any) -> int:
    """A `builtin_interfaces/Time` (rclpy or rosbags object) as integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


@contextlib.contextmanager
def open_bag(path: str | Path) -> Iterator[AnyReader]:
    """Open a ROS 2 bag for reading (a context manager yielding the open `AnyReader`).

    Raises FileNotFoundError naming `path` if it does not exist, BagError if it is not a readable bag.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"bag {str(path)!r} does not exist ({_BAG_HINT})")
    if path.suffix == ".bag":
        raise BagError(f"{path} is a ROS 1 bag; convert it with `rosbags-convert --src {path}` first")
    try:
        reader = AnyReader([path], default_typestore=jazzy_typestore())
        reader.open()
    except (AnyReaderError, OSError, ValueError, KeyError) as error:
        raise BagError(f"cannot open bag {path}: {error} ({_BAG_HINT}){_repair_hint(error)}") from error
    try:
        yield reader
    finally:
        reader.close()


def _repair_hint(error: Exception) -> str:
    """What to do about a bag whose storage cannot even be opened."""
    text = str(error)
    if "end magic" in text or "MCAP footer" in text:
        return (
            "; the MCAP file has no footer (recording interrupted?): repair it with `mcap recover IN -o OUT`"
            " or `ros2 bag reindex`"
        )
    if "malformed" in text:
        return "; the sqlite3 file is damaged: try `sqlite3 BAG.db3 .recover | sqlite3 FIXED.db3`"
    return ""


def describe_topics(reader: AnyReader) -> str:
    """One line per topic: name, type and message count (for error messages)."""
    lines = [
        f"  {name} ({info.msgtype}, {info.msgcount} msgs)" for name, info in sorted(reader.topics.items())
    ]
    return "\n".join(lines) if lines else "  (no topics)"


def find_topic(reader: AnyReader, topic: str, msgtypes: Iterable[str], bag: str | Path) -> list[Connection]:
    """The connections of `topic`, which must exist and carry one of `msgtypes`.

    Raises BagError naming the bag and the topic and listing the topics the bag has.
    """
    allowed = tuple(msgtypes)
    connections = [c for c in reader.connections if c.topic == topic]
    if not connections:
        raise BagError(
            f"topic {topic!r} is not in bag {bag}; the bag has:\n{describe_topics(reader)}\n"
            "pass one of these topics (see --help for the topic options)"
        )
    wrong = sorted({c.msgtype for c in connections if c.msgtype not in allowed})
    if wrong:
        raise BagError(
            f"topic {topic!r} in bag {bag} has type {', '.join(wrong)}; expected {' or '.join(allowed)}"
        )
    return connections


def read_messages(
    reader: AnyReader, connections: Sequence[Connection], bag: str | Path
) -> Iterator[tuple[Connection, int, bytes]]:
    """`reader.messages(connections)` in receive-time order; storage errors become `BagReadError`.

    rosbags raises storage-specific exceptions for damaged files (sqlite "database disk image is
    malformed", MCAP record/CRC errors, zstd errors); they are reported with the bag's name and the
    number of messages read before the damage, so callers can keep the results they have.
    """
    iterator = reader.messages(connections=connections)
    count = 0
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except Exception as error:  # any storage backend failure; see the docstring
            raise BagReadError(
                f"bag {bag} is corrupt or truncated: reading stopped after {count} messages "
                f"({type(error).__name__}: {error})",
                count,
            ) from error
        count += 1
        yield item


def deserialize(rawdata: bytes | memoryview, msgtype: str) -> Any:
    """A bag record (CDR bytes) as the rclpy message the depth node would receive."""
    cls = MESSAGE_TYPES.get(msgtype)
    if cls is None:
        raise BagError(f"unsupported message type {msgtype}; expected one of {', '.join(MESSAGE_TYPES)}")
    return deserialize_message(bytes(rawdata), cls)


def _msgtype_name(cls: type) -> str:
    """`sensor_msgs.msg.Image` -> `sensor_msgs/msg/Image` (the rosbag2 type name)."""
    return f"{cls.__module__.split('.')[0]}/msg/{cls.__name__}"


class BagWriter:
    """Write rclpy messages into a new ROS 2 bag at `path`, atomically (see the module docstring).

    Use as a context manager. On a clean exit the bag is closed and renamed to `path`; if the block
    raises, the temporary bag is deleted and `path` is never created.
    """

    def __init__(self, path: str | Path, storage: str = "mcap") -> None:
        if storage not in STORAGES:
            raise ValueError(f"unknown bag storage {storage!r}; choose one of {', '.join(STORAGES)}")
        self.path = Path(path)
        self.storage = storage
        self._tmpdir: Path | None = None
        self._writer: Writer | None = None
        self._connections: dict[str, Connection] = {}
        self.counts: dict[str, int] = {}

    def __enter__(self) -> BagWriter:
        if self.path.exists():
            raise BagError(f"{self.path} already exists; remove it or choose another output path")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmpdir = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.partial-", dir=self.path.parent))
        self._writer = Writer(
            self._tmpdir / self.path.name, version=BAG_VERSION, storage_plugin=STORAGES[self.storage]
        )
        self._writer.open()
        return self

    def add_topic(self, topic: str, msg_class: type) -> None:
        """Declare `topic` carrying rclpy message class `msg_class` (e.g. `sensor_msgs.msg.Image`)."""
        assert self._writer is not None, "use BagWriter as a context manager"
        self._connections[topic] = self._writer.add_connection(
            topic, _msgtype_name(msg_class), typestore=jazzy_typestore()
        )
        self.counts[topic] = 0

    def write(self, topic: str, msg: Any, timestamp_ns: int) -> None:
        """Serialise `msg` (rclpy) and append it to `topic` at receive time `timestamp_ns`."""
        assert self._writer is not None, "use BagWriter as a context manager"
        self._writer.write(self._connections[topic], int(timestamp_ns), serialize_message(msg))
        self.counts[topic] += 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._writer is not None and self._tmpdir is not None
        try:
            if exc_type is None:
                self._writer.close()
                (self._tmpdir / self.path.name).rename(self.path)
            else:
                self._writer.abort()
        finally:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._writer = None
            self._tmpdir = None
