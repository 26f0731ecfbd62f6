"""What the node knows besides the image, per frame: the camera mount, new sparse depth, new range readings.

- The camera mount (:class:`MountSource`): from the ``camera_height_m`` / ``camera_pitch_deg`` /
  ``camera_roll_deg`` parameters when the height is given, else from TF with ``tf2_ros`` (where a ROS
  install has it): ``base_frame <- image frame_id`` at the image's stamp (a pan-tilt camera moves), no
  waiting. The pip venv has no tf2 packages (neither ``tf2_msgs`` nor ``tf2_ros`` is on PyPI): there the
  parameters are the only way, and the node says so once. The image's ``frame_id`` must be the camera's
  optical frame (REP 103), as camera drivers publish it.
- Sparse depth and range readings (:class:`Measurement`): the newest one is kept; the first frame within
  ``max_age`` of its stamp takes it, so each measurement scales exactly one frame (a 10 Hz LiDAR beside
  a 30 Hz camera is not counted three times; the tracker holds the scale in between).
"""

from __future__ import annotations

import threading
from typing import Any

from disdepth_core.bags import stamp_ns
from disdepth_core.scale import CameraMount, RangeReading, mount_from_transform
from disdepth_core.scale.rotations import Rigid

__all__ = ["Measurement", "MountSource", "range_reading", "rigid_from_msg"]

_OPTICAL_SUFFIX = "optical_frame"


def rigid_from_msg(transform: Any) -> Rigid:
    """A ``geometry_msgs/Transform`` as a :class:`Rigid` (parent <- child)."""
    t, q = transform.translation, transform.rotation
    return Rigid.from_quaternion((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))


class MountSource:
    """The camera mount per image: parameters (``parameters``), else tf2 (``tf_buffer``), else none.

    ``tf_buffer`` is a ``tf2_ros.Buffer`` (anything with ``lookup_transform(target, source, time)``);
    ``note`` is the one line that says where the mount comes from (logged once at configure).
    """

    def __init__(self, base_frame: str, parameters: CameraMount | None, tf_buffer: Any = None) -> None:
        self.base_frame = base_frame
        self.parameters = parameters
        self.tf_buffer = tf_buffer
        if parameters is not None:
            self.note = f"camera mount from parameters: {parameters.describe()}"
        elif tf_buffer is not None:
            self.note = f"camera mount from TF: {base_frame} <- the image's frame_id at its stamp (tf2_ros)"
        else:
            self.note = (
                "no camera mount: tf2_ros is not installed here (pip venv) and camera_height_m is 0; set "
                "camera_height_m, camera_pitch_deg and camera_roll_deg for scale_source ground_plane"
            )
        self.last_error = ""

    @property
    def known(self) -> bool:
        """Whether a mount can be had at all (parameters or TF)."""
        return self.parameters is not None or self.tf_buffer is not None

    def mount_for(self, header: Any) -> CameraMount | None:
        """The mount at ``header``'s stamp for its frame_id; None (``last_error`` says why) when unknown."""
        if self.parameters is not None:
            return self.parameters
        if self.tf_buffer is None:
            return None
        from rclpy.time import Time

        frame = header.frame_id
        try:
            stamped = self.tf_buffer.lookup_transform(self.base_frame, frame, Time.from_msg(header.stamp))
            mount = mount_from_transform(
                rigid_from_msg(stamped.transform), f"TF {self.base_frame} <- {frame}"
            )
        except Exception as error:  # tf2 raises LookupException, ExtrapolationException, ...; ValueError
            self.last_error = f"TF {self.base_frame} <- {frame!r}: {type(error).__name__}: {error}"
            return None
        self.last_error = ""
        return mount

    @staticmethod
    def looks_optical(frame_id: str) -> bool:
        """Whether ``frame_id`` is named like an optical frame (REP 103 ``*_optical_frame``)."""
        return frame_id.rstrip("/").endswith(_OPTICAL_SUFFIX) or "optical" in frame_id


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
