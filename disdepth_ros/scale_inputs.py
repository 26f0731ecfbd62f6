"""What the node knows besides the image, per frame: TF through tf2_ros, new sparse depth, new range readings.

- TF (:func:`tf2_lookup`): ``tf2_ros`` where a ROS install has it, as the camera mount's transport
  (:class:`disdepth_core.scale.mount_source.MountSource`: ``base_frame <- image frame_id`` at the
  image's stamp, no waiting). The pip venv has no tf2 packages (neither ``tf2_msgs`` nor ``tf2_ros`` is
  on PyPI): there the ``camera_*`` parameters are the only way, and the node says so once.
- Sparse depth and range readings (:class:`Measurement`): the newest one is kept; the first frame within
  ``max_age`` of its stamp takes it, so each measurement scales exactly one frame (a 10 Hz LiDAR beside
  a 30 Hz camera is not counted three times; the tracker holds the scale in between).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from disdepth_core.bags import stamp_ns
from disdepth_core.scale import CameraMount, RangeReading
from disdepth_core.scale.mount_source import TransformLookup
from disdepth_core.scale.rotations import Rigid
from disdepth_core.serving.failures import FrameFailure
from disdepth_ros.conversions import depth_msg_to_array
from disdepth_ros.pipeline import ScaleInputs

__all__ = ["Measurement", "SensorInputs", "range_reading", "rigid_from_msg", "tf2_lookup"]


def rigid_from_msg(transform: Any) -> Rigid:
    """A ``geometry_msgs/Transform`` as a :class:`Rigid` (parent <- child)."""
    t, q = transform.translation, transform.rotation
    return Rigid.from_quaternion((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))


def tf2_lookup(buffer: Any) -> TransformLookup:
    """A transform lookup over a ``tf2_ros.Buffer`` (``lookup_transform(target, source, Time)``)."""
    from rclpy.time import Time

    def lookup(target: str, source: str, stamp_ns: int) -> Rigid:
        return rigid_from_msg(buffer.lookup_transform(target, source, Time(nanoseconds=stamp_ns)).transform)

    return lookup


class Measurement:
    """The newest unused message of a sensor topic and its stamp (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: tuple[int, Any] | None = None
        self.last_arrival: float | None = None

    def put(self, msg: Any, now: float) -> None:
        with self._lock:
            self._latest = (stamp_ns(msg.header.stamp), msg)
            self.last_arrival = now

    def take(self, image_stamp_ns: int, max_age_s: float) -> Any:
        """The newest unused message if its stamp is within ``max_age_s`` of the image (it is then used),
        else None."""
        with self._lock:
            if self._latest is None or abs(image_stamp_ns - self._latest[0]) > max_age_s * 1e9:
                return None
            msg, self._latest = self._latest[1], None
            return msg

    def clear(self) -> None:
        with self._lock:
            self._latest = None


def range_reading(msg: Any, camera_from_range: Rigid) -> RangeReading:
    """A ``sensor_msgs/Range`` in the camera optical frame: the beam is the range frame's x axis (REP 117)."""
    direction = camera_from_range.rotation[:, 0]
    return RangeReading(
        origin=tuple(float(v) for v in camera_from_range.translation),
        direction=tuple(float(v) for v in direction),
        range_m=float(msg.range),
        min_range=float(msg.min_range),
        max_range=float(msg.max_range),
        field_of_view=float(msg.field_of_view),
    )


class SensorInputs:
    """The sparse depth and range messages no frame has used yet, and a frame's :class:`ScaleInputs`
    from them: the node and eval-bag share this, so both use a measurement exactly once."""

    def __init__(self) -> None:
        self.sparse, self.ranges = Measurement(), Measurement()

    def clear(self) -> None:
        self.sparse.clear()
        self.ranges.clear()

    def for_frame(
        self,
        header: Any,
        mount: CameraMount | None,
        max_input_pixels: int,
        max_age_s: float,
        lookup: TransformLookup | None,
        range_fallback: Callable[[], Rigid],
    ) -> tuple[ScaleInputs, FrameFailure | None]:
        """``mount`` with the sparse depth and range reading within ``max_age_s`` of the image's stamp
        that no earlier frame used, and the failure of an undecodable sparse depth image (the frame goes
        on without it). The range sensor's pose comes from ``lookup`` (camera frame <- range frame at
        its stamp), else from ``range_fallback()``."""
        stamp = stamp_ns(header.stamp)
        sparse, problem = None, None
        sparse_msg = self.sparse.take(stamp, max_age_s)
        if sparse_msg is not None:
            try:
                sparse = depth_msg_to_array(sparse_msg, max_input_pixels)
            except ValueError as error:
                problem = FrameFailure("bad_input", f"sparse depth: {error}")
        reading = None
        range_msg = self.ranges.take(stamp, max_age_s)
        if range_msg is not None:
            pose = _camera_from_range(lookup, header.frame_id, range_msg, range_fallback)
            reading = range_reading(range_msg, pose)
        return ScaleInputs(mount, sparse, reading), problem


def _camera_from_range(
    lookup: TransformLookup | None, camera_frame: str, msg: Any, fallback: Callable[[], Rigid]
) -> Rigid:
    """The range sensor in the camera optical frame: TF where it has the range frame, else ``fallback``."""
    if lookup is not None:
        try:
            return lookup(camera_frame, msg.header.frame_id, stamp_ns(msg.header.stamp))
        except Exception:  # tf2's Lookup/Connectivity/Extrapolation errors, TransformLookupError
            pass
    return fallback()
