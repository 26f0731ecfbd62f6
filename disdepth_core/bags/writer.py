"""Writing ROS 2 bags (rosbag2 format version 9, sqlite3 or mcap) from serialised CDR records, atomically.

The bag is written into a hidden temporary directory next to the target (``disdepth_core.files``) and
renamed into place when complete, so a crash never leaves a half-written bag under the target name.
Callers serialise messages themselves (``rclpy.serialization.serialize_message`` in the ROS package,
``typestore.serialize_cdr`` for rosbags objects); types are named as rosbag2 does
(``sensor_msgs/msg/Image``) and described by the Jazzy type store.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from rosbags.interfaces import (
    Connection,
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import StoragePlugin, Writer

from disdepth_core.bags.errors import BagError
from disdepth_core.bags.reader import jazzy_typestore
from disdepth_core.files import PARTIAL_MARK, remove_stale_temporaries

__all__ = ["STORAGES", "BagWriter"]

STORAGES: dict[str, StoragePlugin] = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
BAG_VERSION = Writer.VERSION_LATEST
_FOREVER = QosTime(sec=2147483647, nsec=4294967295)  # rosbag2's "infinite" duration
_LATCHED = Qos(
    history=QosHistory.KEEP_LAST,
    depth=1,
    reliability=QosReliability.RELIABLE,
    durability=QosDurability.TRANSIENT_LOCAL,
    deadline=_FOREVER,
    lifespan=_FOREVER,
    liveliness=QosLiveliness.AUTOMATIC,
    liveliness_lease_duration=_FOREVER,
    avoid_ros_namespace_conventions=False,
)


class BagWriter:
    """Write CDR records into a new bag at ``path`` (must not exist); use as a context manager.

    On a clean exit the bag is closed and renamed to ``path``; if the block raises (including
    KeyboardInterrupt), the temporary bag is deleted and ``path`` is never created. ``counts`` holds
    the number of records written per topic.
    """

    def __init__(self, path: str | Path, storage: str = "mcap") -> None:
        if storage not in STORAGES:
            raise ValueError(f"unknown bag storage {storage!r}; choose one of {', '.join(STORAGES)}")
        self.path = Path(path)
        self.storage = storage
        self._container: Path | None = None
        self._writer: Writer | None = None
        self._connections: dict[str, Connection] = {}
        self.counts: dict[str, int] = {}

    def __enter__(self) -> BagWriter:
        if self.path.exists():
            raise BagError(f"{self.path} already exists; remove it or choose another output path")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.path.parent, self.path.name)
        container = Path(tempfile.mkdtemp(prefix=f".{self.path.name}{PARTIAL_MARK}", dir=self.path.parent))
        try:
            # The bag keeps its final name inside the container: rosbag2 names its files after it.
            writer = Writer(
                container / self.path.name, version=BAG_VERSION, storage_plugin=STORAGES[self.storage]
            )
            writer.open()
        except BaseException:
            shutil.rmtree(container, ignore_errors=True)
            raise
        self._container, self._writer = container, writer
        return self

    def _open_writer(self) -> Writer:
        if self._writer is None:
            raise RuntimeError("use BagWriter as a context manager")
        return self._writer

    def add_topic(self, topic: str, msgtype: str, latched: bool = False) -> None:
        """Declare ``topic`` carrying ``msgtype`` (a rosbag2 name such as ``sensor_msgs/msg/Image``);
        ``latched`` records a transient-local publisher (``/tf_static``), so players re-latch it."""
        writer = self._open_writer()
        profiles = (_LATCHED,) if latched else ()
        self._connections[topic] = writer.add_connection(
            topic, msgtype, typestore=jazzy_typestore(), offered_qos_profiles=profiles
        )
        self.counts[topic] = 0

    def write(self, topic: str, data: bytes, timestamp_ns: int) -> None:
        """Append one CDR record to ``topic`` at receive time ``timestamp_ns``."""
        self._open_writer().write(self._connections[topic], int(timestamp_ns), data)
        self.counts[topic] += 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        writer, container = self._open_writer(), self._container
        assert container is not None
        self._writer = self._container = None
        try:
            if exc_type is None:
                writer.close()
                os.replace(container / self.path.name, self.path)
            else:
                writer.abort()
        finally:
            shutil.rmtree(container, ignore_errors=True)
