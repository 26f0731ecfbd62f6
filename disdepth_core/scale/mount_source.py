"""The camera mount per image, whichever transport knows it: measured parameters, or a TF lookup.

One piece of logic for the node (``tf2_ros`` where a ROS install has it) and for ``eval-bag`` (the bag's
own ``/tf`` and ``/tf_static`` in a :class:`~disdepth_core.scale.TransformBuffer`): parameters, when
given, win (the user measured them for a robot without TF); otherwise ``base_frame <- frame_id`` is
looked up at the image's stamp (a pan-tilt camera moves) and turned into a mount
(:func:`~disdepth_core.scale.mount_from_transform`). The image's ``frame_id`` must be the camera's
optical frame (REP 103), as camera drivers publish it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from disdepth_core.scale.mount import CameraMount, mount_from_transform
from disdepth_core.scale.rotations import Rigid

__all__ = ["MountSource", "TransformLookup"]

TransformLookup = Callable[[str, str, int], Rigid]
"""``lookup(target_frame, source_frame, stamp_ns) -> target <- source``; raises when it cannot."""


class MountSource:
    """Mounts for images: ``parameters`` when given, else ``lookup`` (``transport`` names it), else none.

    ``note`` is the one line that says where mounts come from; ``last_error`` why the last lookup failed.
    """

    def __init__(
        self,
        base_frame: str,
        parameters: CameraMount | None = None,
        lookup: TransformLookup | None = None,
        transport: str = "TF",
        missing: str = "no camera mount (no camera_height_m and no TF)",
    ) -> None:
        self.base_frame = base_frame
        self.parameters = parameters
        self.lookup = lookup
        if parameters is not None:
            self.note = f"camera mount from parameters: {parameters.describe()}"
        elif lookup is not None:
            self.note = f"camera mount from {transport}: {base_frame} <- the image's frame_id at its stamp"
        else:
            self.note = missing
        self.last_error = ""
        self.failures = 0

    @property
    def known(self) -> bool:
        """Whether a mount can be had at all (parameters or a lookup)."""
        return self.parameters is not None or self.lookup is not None

    def mount_for(self, header: Any) -> CameraMount | None:
        """The mount at ``header``'s stamp for its frame_id; None (``last_error`` says why) when unknown."""
        if self.parameters is not None:
            return self.parameters
        if self.lookup is None:
            return None
        frame = header.frame_id
        stamp = int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)
        try:
            mount = mount_from_transform(
                self.lookup(self.base_frame, frame, stamp), f"TF {self.base_frame} <- {frame}"
            )
        except Exception as error:  # any transport's lookup errors (tf2's, TransformLookupError), ValueError
            self.failures += 1
            self.last_error = f"TF {self.base_frame} <- {frame!r}: {type(error).__name__}: {error}"
            return None
        self.last_error = ""
        return mount
