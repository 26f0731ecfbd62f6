"""``fixed:FACTOR``: one factor the user measured once (e.g. against a tape measure)."""

from __future__ import annotations

import math

import numpy as np

from disdepth_core.scale.sources import FrameContext, ScaleObservation, ScaleSettings, register_scale_source


@register_scale_source("fixed", "a constant factor, e.g. fixed:2.5", takes_argument=True)
class FixedScale:
    name = "fixed"
    relative_ok = True

    def __init__(self, argument: str, settings: ScaleSettings) -> None:
        try:
            self.factor = float(argument)
        except ValueError:
            raise ValueError(f"scale source 'fixed:{argument}': the factor must be a number") from None
        if not (math.isfinite(self.factor) and self.factor > 0):
            raise ValueError(f"scale source 'fixed:{argument}': the factor must be finite and > 0")

    def has_input(self, context: FrameContext) -> bool:
        return True

    def observe(self, depth: np.ndarray, context: FrameContext) -> ScaleObservation:
        return ScaleObservation(self.factor, 1.0, 0, f"fixed factor {self.factor:g}")
