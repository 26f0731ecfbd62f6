"""``range``: one ``sensor_msgs/Range`` beam (a single-beam ToF or sonar) fixes the scale.

The beam's end point ``P = origin + range * direction`` (camera optical frame, from TF or the node's
``range_*`` parameters) projects to a pixel; the sensor reports the nearest surface inside its cone
(REP 117), so the prediction it is compared with is the near end (10th percentile) of the predicted
depths inside the cone's footprint around that pixel (radius ``fx * range * tan(fov / 2) / P.z``, at
least one pixel): scale = ``P.z / that depth``. Readings outside ``[min_range, max_range]`` (no target,
REP 117's +-inf included) decide nothing.
"""

from __future__ import annotations

import math

import numpy as np

from disdepth_core.geometry import valid_depth
from disdepth_core.scale.sources import FrameContext, ScaleObservation, ScaleSettings, register_scale_source

NEAR_PERCENTILE = 10.0


@register_scale_source("range", "a single-beam range sensor (sensor_msgs/Range) at its pixel")
class RangeScale:
    name = "range"
    relative_ok = True

    def __init__(self, argument: str, settings: ScaleSettings) -> None:
        pass

    def has_input(self, context: FrameContext) -> bool:
        return context.range_reading is not None

    def observe(self, depth: np.ndarray, context: FrameContext) -> ScaleObservation:
        reading, intrinsics = context.range_reading, context.intrinsics
        if reading is None:
            return ScaleObservation.undecided("no new range reading for this frame")
        if not (math.isfinite(reading.range_m) and reading.min_range <= reading.range_m <= reading.max_range):
            return ScaleObservation.undecided(
                f"range {reading.range_m:g} m outside the sensor's "
                f"[{reading.min_range:g}, {reading.max_range:g}] m"
            )
        if intrinsics is None:
            return ScaleObservation.undecided("no camera_info: the beam's pixel is unknown")
        end = np.asarray(reading.origin) + reading.range_m * np.asarray(reading.direction)
        if end[2] <= 1e-6:
            return ScaleObservation.undecided("the beam ends behind the camera")
        u = intrinsics.fx * end[0] / end[2] + intrinsics.cx
        v = intrinsics.fy * end[1] / end[2] + intrinsics.cy
        height, width = depth.shape
        if not (0 <= u <= width - 1 and 0 <= v <= height - 1):
            return ScaleObservation.undecided(f"the beam hits pixel ({u:.0f}, {v:.0f}), outside the image")
        radius = max(1.0, intrinsics.fx * reading.range_m * math.tan(reading.field_of_view / 2) / end[2])
        rows = slice(max(0, int(v - radius)), min(height, int(v + radius) + 1))
        cols = slice(max(0, int(u - radius)), min(width, int(u + radius) + 1))
        yy, xx = np.mgrid[rows, cols]
        window = depth[rows, cols][(yy - v) ** 2 + (xx - u) ** 2 <= radius * radius]
        window = window[valid_depth(window)]
        if window.size == 0:
            return ScaleObservation.undecided("no valid prediction inside the beam's footprint")
        near = float(np.percentile(window, NEAR_PERCENTILE))
        return ScaleObservation(
            float(end[2]) / near,
            1.0,
            int(window.size),
            f"range {reading.range_m:.2f} m at pixel ({u:.0f}, {v:.0f})",
        )
