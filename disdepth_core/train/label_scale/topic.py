"""``topic[:median|lsq]`` (distill-bag): a metric depth topic in the same bag (LiDAR, ToF, stereo; sparse
or dense) paired with each frame by stamp. Every paired frame gets its own scale; frames without a usable
partner get the global fit over the paired training frames."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .fit import FitLabelScale
from .registry import register_label_scale

if TYPE_CHECKING:
    from disdepth_core.models.teachers.output import MetricScale


@register_label_scale
class TopicLabelScale(FitLabelScale):
    name = "topic"
    usage = "topic[:median|lsq]"
    summary = "per frame, from --depth-topic"
    in_bag_only = True
    takes_scale_data = False
    per_frame = True
    label = "depth topic, global fit"

    def missing_input(self, depth_topic: bool, scale_data: bool) -> str | None:
        return (
            None
            if depth_topic
            else "--scale topic needs --depth-topic (a metric depth topic in the same bags)"
        )

    def frame_scale(
        self, raw: np.ndarray, gt: np.ndarray, output_kind: str, depth_range: tuple[float, float]
    ) -> MetricScale | None:
        from ..scale_fit import fit_frame

        mode = self.mode_for(output_kind)
        return fit_frame(raw, gt, output_kind, mode, depth_range, f"depth topic, {mode}")
