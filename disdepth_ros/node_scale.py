"""The depth node's scale inputs per frame (`ScaleInputs`): the camera mount from the `camera_*`
parameters, else from TF (`base_frame` <- the image's frame_id, REP 105/120) through tf2_ros where it is
installed; the sparse depth and range reading no earlier frame used; the range sensor's pose from the
`range_*` parameters where TF has none."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from rclpy.node import Node

from disdepth_core.runtime import ModelInfo
from disdepth_core.scale import AUTO
from disdepth_core.scale.advice import own_scale_warning
from disdepth_core.scale.mount_source import MountSource
from disdepth_core.scale.rotations import Rigid, frame_with_x
from disdepth_core.serving.failures import FrameFailure
from disdepth_ros.params import parameter_mount
from disdepth_ros.pipeline import ScaleInputs
from disdepth_ros.scale_inputs import SensorInputs, tf2_lookup

__all__ = ["NodeScaleInputs"]

_NO_MOUNT = (
    "no camera mount: tf2_ros is not installed here (pip venv) and camera_height_m is 0; set "
    "camera_height_m, camera_pitch_deg and camera_roll_deg for scale_source ground_plane"
)


class NodeScaleInputs:
    """A configured node's scale inputs from its parameters `values` (see the module docstring);
    `sensors` holds the measurements the node's subscriptions deliver."""

    def __init__(self, node: Node, values: Mapping[str, Any], sensors: SensorInputs) -> None:
        self.source = str(values["scale_source"])
        self.sensors = sensors
        self.max_age_s = float(values["sparse_depth_max_age"])
        self._wants_mount = self.source in (AUTO, "ground_plane")
        self._tf_listener: Any = None
        parameters = parameter_mount(values)
        lookup = None
        if parameters is None and self.source in (AUTO, "ground_plane", "range"):
            try:
                import tf2_ros
            except ImportError:
                tf2_ros = None
            if tf2_ros is not None:
                buffer = tf2_ros.Buffer()
                self._tf_listener = tf2_ros.TransformListener(buffer, node)
                lookup = tf2_lookup(buffer)
        self.mount_source = MountSource(
            str(values["base_frame"]), parameters, lookup, "TF (tf2_ros)", _NO_MOUNT
        )
        direction = np.asarray(values["range_direction_xyz"], dtype=np.float64)
        position = np.asarray([float(v) for v in values["range_position_xyz"]])
        self._range_pose = Rigid(frame_with_x(direction), position)  # read-only parameters

    def update(self, values: Mapping[str, Any]) -> None:
        """Take run-time parameter changes: `sparse_depth_max_age`, and the `camera_*` mount (a calibration
        update; a node whose mount comes from TF ignores them)."""
        self.max_age_s = float(values["sparse_depth_max_age"])
        if self.mount_source.parameters is not None:
            mount = parameter_mount(values)
            if mount is not None:
                self.mount_source.parameters = mount

    def for_frame(self, header: Any, max_input_pixels: int) -> tuple[ScaleInputs, FrameFailure | None]:
        """The mount at this image (when a source may use it) and the sparse depth and range reading no
        earlier frame used, within `sparse_depth_max_age` of its stamp (decoded with the camera's
        `max_input_pixels` limit); the failure of an undecodable sparse depth image, if any."""
        mount = self.mount_source.mount_for(header) if self._wants_mount else None
        return self.sensors.for_frame(
            header,
            mount,
            max_input_pixels,
            self.max_age_s,
            self.mount_source.lookup,
            lambda: self._range_pose,
        )

    def model_scale_warning(self, info: ModelInfo) -> str | None:
        """The warning for a model trained on rendered images only that runs on its own scale, else None."""
        return own_scale_warning(info, self.source, self.mount_source.known)
