"""Reading ROS 2 bags with the pure-Python ``rosbags`` library (sqlite3 ``.db3`` and ``.mcap``).

No ``ros2 bag`` or rclpy is needed. Messages come back as raw CDR records ``(connection, receive_ns,
bytes)`` in receive-time order; :func:`deserialize` turns one into a ``rosbags`` message object (Jazzy
type store), whose fields are those of the ROS message (``header.stamp``, ``data`` as a numpy array).
ROS 1 ``.bag`` files are refused with the conversion command to run.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.interfaces import Connection
from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore

from disdepth_core.bags.errors import BagError, BagReadError, BagTopicError

__all__ = [
    "IMAGE_TYPES",
    "describe_topics",
    "deserialize",
    "find_topic",
    "jazzy_typestore",
    "open_bag",
    "read_messages",
    "stamp_ns",
]

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
_GENERIC_REPAIR = (
    "; repair it with `mcap recover IN -o OUT` (MCAP) or `sqlite3 BAG.db3 .recover` (sqlite3), or re-record"
)
_BAG_HINT = "expected a ROS 2 bag directory (metadata.yaml + .db3/.mcap) or a single .mcap/.db3 file"


@functools.cache
def jazzy_typestore() -> Typestore:
    """The ROS 2 Jazzy message definitions (for bags without embedded definitions, and for writing)."""
    return get_typestore(Stores.ROS2_JAZZY)


def stamp_ns(stamp: Any) -> int:
    """A ``builtin_interfaces/Time`` (rclpy or rosbags object) as integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def _repair_hint(error: Exception) -> str:
    text = str(error)
    if "end magic" in text or "footer" in text:
        return (
            "; the MCAP file is truncated (recording interrupted?): repair it with `mcap recover IN -o OUT`"
        )
    if "malformed" in text:
        return "; the sqlite3 file is damaged: try `sqlite3 BAG.db3 .recover | sqlite3 FIXED.db3`"
    return ""


@contextlib.contextmanager
def open_bag(path: str | Path) -> Iterator[AnyReader]:
    """Open a bag for reading (a context manager yielding the open ``AnyReader``).

    Raises FileNotFoundError naming ``path`` if it does not exist, BagError for a ROS 1 bag and
    BagReadError if the storage cannot be opened.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"bag {path} does not exist ({_BAG_HINT})")
    if path.suffix == ".bag":
        raise BagError(f"{path} is a ROS 1 bag; convert it with `rosbags-convert --src {path}` first")
    try:
        reader = AnyReader([path], default_typestore=jazzy_typestore())
        reader.open()
    except (AnyReaderError, OSError, ValueError, KeyError) as error:
        raise BagReadError(
            f"cannot open bag {path} (0 messages read): {error} ({_BAG_HINT}){_repair_hint(error)}", 0
        ) from error
    try:
        yield reader
    finally:
        reader.close()


def describe_topics(reader: AnyReader) -> str:
    """One line per topic: name, type and message count (for error messages)."""
    lines = [
        f"  {name} ({info.msgtype}, {info.msgcount} msgs)" for name, info in sorted(reader.topics.items())
    ]
    return "\n".join(lines) if lines else "  (no topics)"


def find_topic(reader: AnyReader, topic: str, msgtypes: Iterable[str], bag: str | Path) -> list[Connection]:
    """The connections of ``topic``, which must exist and carry one of ``msgtypes``.

    Raises BagTopicError naming the bag and the topic and listing the topics the bag has.
    """
    allowed = tuple(msgtypes)
    connections = [c for c in reader.connections if c.topic == topic]
    if not connections:
        raise BagTopicError(
            f"topic {topic!r} is not in bag {bag}; the bag has:\n{describe_topics(reader)}\n"
            "pass one of these topics (see --help for the topic options)"
        )
    wrong = sorted({c.msgtype for c in connections if c.msgtype not in allowed})
    if wrong:
        raise BagTopicError(
            f"topic {topic!r} in bag {bag} has type {', '.join(wrong)}; expected {' or '.join(allowed)}"
        )
    return connections


def read_messages(
    reader: AnyReader, connections: Sequence[Connection], bag: str | Path
) -> Iterator[tuple[Connection, int, bytes]]:
    """``(connection, receive_ns, cdr_bytes)`` in receive-time order; storage errors become BagReadError.

    rosbags raises storage-specific exceptions for damaged files (sqlite "database disk image is
    malformed", MCAP record/CRC errors, zstd errors); they are reported with the bag's name and the
    number of messages read before the damage.
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
                f"({type(error).__name__}: {error}){_repair_hint(error) or _GENERIC_REPAIR}",
                count,
            ) from error
        count += 1
        yield item


def deserialize(reader: AnyReader, raw: bytes, connection: Connection, bag: str | Path) -> Any:
    """One CDR record as a ``rosbags`` message object; BagReadError naming the bag and topic if malformed."""
    try:
        return reader.deserialize(raw, connection.msgtype)
    except Exception as error:  # rosbags raises assorted errors on malformed CDR
        raise BagReadError(
            f"bag {bag}, topic {connection.topic}: malformed {connection.msgtype} record "
            f"({type(error).__name__}: {error})"
        ) from error
