"""``model``: the network's own metric output, unchanged (a metric model's only scale without sensors)."""

from __future__ import annotations

import numpy as np

from disdepth_core.scale.sources import FrameContext, ScaleObservation, ScaleSettings, register_scale_source


@register_scale_source("model", "the depth model's own metric output, unchanged")
class ModelScale:
    name = "model"
    relative_ok = False

    def __init__(self, argument: str, settings: ScaleSettings) -> None:
        pass

    def has_input(self, context: FrameContext) -> bool:
        return True

    def observe(self, depth: np.ndarray, context: FrameContext) -> ScaleObservation:
        return ScaleObservation(1.0, 1.0, 0, "the model's own metric scale")
