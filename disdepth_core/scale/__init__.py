"""Metric scale for a depth model on a robot: scale sources, the camera mount, TF, one tracker.

Sources (one module each, registered by name): ``model`` (:mod:`.model_scale`), ``fixed:F``
(:mod:`.fixed_scale`), ``sparse_depth`` (:mod:`.sparse_depth`), ``range`` (:mod:`.range_sensor`),
``ground_plane`` (:mod:`.ground_plane`). :class:`ScaleTracker` picks one (or ``auto``), smooths, holds
and falls back; :func:`apply_scale` is how a frame's depth becomes metres. No ROS imports.
"""

from disdepth_core.scale import fixed_scale, ground_plane, model_scale, range_sensor, sparse_depth  # noqa: F401 (registration)
from disdepth_core.scale.mount import CameraMount, mount_from_angles, mount_from_transform
from disdepth_core.scale.ratios import median_of_ratios, ratio_of_medians
from disdepth_core.scale.sources import (
    AUTO,
    AUTO_ORDER,
    FrameContext,
    RangeReading,
    ScaleObservation,
    ScaleSettings,
    build_scale_source,
    register_scale_source,
    scale_source_help,
    scale_source_names,
)
from disdepth_core.scale.tracker import STATES, ScaleDecision, ScaleTracker, TrackerSettings
from disdepth_core.scale.transforms import TransformBuffer, TransformLookupError

__all__ = [
    "AUTO",
    "AUTO_ORDER",
    "STATES",
    "CameraMount",
    "FrameContext",
    "RangeReading",
    "ScaleDecision",
    "ScaleObservation",
    "ScaleSettings",
    "ScaleTracker",
    "TrackerSettings",
    "TransformBuffer",
    "TransformLookupError",
    "build_scale_source",
    "median_of_ratios",
    "mount_from_angles",
    "mount_from_transform",
    "ratio_of_medians",
    "register_scale_source",
    "scale_source_help",
    "scale_source_names",
]
