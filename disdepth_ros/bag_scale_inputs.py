"""The scale inputs of ``eval-bag`` (``disdepth_core.scale``), as the node has them: the camera mount
(measured numbers, or the bag's own ``/tf`` and ``/tf_static``), and the sparse depth and range
messages, each used once, by the first image within ``SCALE_INPUT_MAX_AGE_S`` of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.bags import stamp_ns
from disdepth_core.bags.tf import read_tf
from disdepth_core.cli.scale_args import ScaleOptions
from disdepth_core.scale import TransformBuffer
from disdepth_core.scale.mount_source import MountSource
from disdepth_core.scale.rotations import Rigid
from disdepth_core.serving.failures import FrameFailure
from disdepth_ros.conversions import depth_msg_to_array
from disdepth_ros.pipeline import ScaleInputs
from disdepth_ros.scale_inputs import Measurement, range_reading

__all__ = ["SCALE_INPUT_MAX_AGE_S", "BagScaleInputs", "bag_mounts"]

SCALE_INPUT_MAX_AGE_S = 0.2  # as the node's sparse_depth_max_age default
# A range sensor without a transform: co-located with the camera, looking along the optical axis.
_ALONG_OPTICAL_AXIS = Rigid(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]), np.zeros(3))


def bag_mounts(reader: Any, bag: Path, options: ScaleOptions) -> MountSource:
    """The measured mount when given, else the bag's own TF (all of it, read once), else none."""
    if options.mount is not None:
        return MountSource(options.base_frame, options.mount)
    buffer = TransformBuffer(cache_s=None)
    if read_tf(reader, bag, buffer) == 0:
        return MountSource(
            options.base_frame,
            missing=f"no camera mount: {bag} has no /tf or /tf_static and no --camera-height given",
        )
    return MountSource(options.base_frame, lookup=buffer.lookup, transport="the bag's /tf and /tf_static")


class BagScaleInputs:
    """The mount source plus the sparse depth and range messages no image has used yet."""

    def __init__(self, mounts: MountSource, max_input_pixels: int) -> None:
        self.mounts = mounts
        self.max_input_pixels = max_input_pixels
        self.sparse, self.ranges = Measurement(), Measurement()

    def for_image(self, msg: Any, stamp: int) -> tuple[ScaleInputs, FrameFailure | None]:
        """The mount at image ``msg``, and the sparse depth and range reading no earlier image used;
        with the failure of an undecodable sparse depth message (the frame goes on without it)."""
        sparse, problem = None, None
        sparse_msg = self.sparse.take(stamp, SCALE_INPUT_MAX_AGE_S)
        if sparse_msg is not None:
            try:
                sparse = depth_msg_to_array(sparse_msg, self.max_input_pixels)
            except ValueError as error:
                problem = FrameFailure("bad_input", f"sparse depth: {error}")
        reading = None
        range_msg = self.ranges.take(stamp, SCALE_INPUT_MAX_AGE_S)
        if range_msg is not None:
            reading = range_reading(range_msg, self._camera_from_range(msg.header.frame_id, range_msg))
        return ScaleInputs(self.mounts.mount_for(msg.header), sparse, reading), problem

    def _camera_from_range(self, camera_frame: str, msg: Any) -> Rigid:
        """The range sensor in the camera frame from the bag's TF; along the optical axis without one."""
        if self.mounts.lookup is not None:
            try:
                return self.mounts.lookup(camera_frame, msg.header.frame_id, stamp_ns(msg.header.stamp))
            except Exception:  # TransformLookupError: no transform for the range frame in this bag
                pass
        return _ALONG_OPTICAL_AXIS
