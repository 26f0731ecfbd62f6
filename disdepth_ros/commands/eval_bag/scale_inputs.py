"""The scale inputs of ``eval-bag`` (``disdepth_core.scale``), as the node has them: the camera mount
(measured numbers, or the bag's own ``/tf`` and ``/tf_static``), and the sparse depth and range
messages, each used once, by the first image within ``SCALE_INPUT_MAX_AGE_S`` of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.bags.tf import read_tf
from disdepth_core.cli.scale_args import ScaleOptions
from disdepth_core.scale import TransformBuffer
from disdepth_core.scale.mount_source import MountSource
from disdepth_core.scale.rotations import Rigid
from disdepth_core.serving.failures import FrameFailure
from disdepth_ros.params import PARAMETERS
from disdepth_ros.pipeline import ScaleInputs
from disdepth_ros.scale_inputs import SensorInputs

__all__ = ["SCALE_INPUT_MAX_AGE_S", "BagScaleInputs", "bag_mounts"]

SCALE_INPUT_MAX_AGE_S = float(PARAMETERS["sparse_depth_max_age"].default)  # as the node's default
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


class BagScaleInputs(SensorInputs):
    """The mount source plus the sparse depth and range messages no image has used yet."""

    def __init__(self, mounts: MountSource, max_input_pixels: int) -> None:
        super().__init__()
        self.mounts = mounts
        self.max_input_pixels = max_input_pixels

    def for_image(self, msg: Any) -> tuple[ScaleInputs, FrameFailure | None]:
        """The mount at image ``msg`` and the measurements no earlier image used (``SensorInputs``); a
        range sensor without a transform in the bag sits on the optical axis."""
        return self.for_frame(
            msg.header,
            self.mounts.mount_for(msg.header),
            self.max_input_pixels,
            SCALE_INPUT_MAX_AGE_S,
            self.mounts.lookup,
            lambda: _ALONG_OPTICAL_AXIS,
        )
