"""``fixed:SCALE[,SHIFT]``: the user's own alignment of the teacher's output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .registry import LabelScaleSource, Pairs, register_label_scale

if TYPE_CHECKING:
    from disdepth_core.models.teachers.output import MetricScale


@register_label_scale
class FixedLabelScale(LabelScaleSource):
    name = "fixed"
    usage = "fixed:SCALE[,SHIFT]"
    summary = "your values"
    fits = False

    @classmethod
    def from_argument(cls, argument: str) -> FixedLabelScale:
        if not argument:
            raise ValueError("scale source 'fixed' needs a value: fixed:SCALE or fixed:SCALE,SHIFT")
        return cls(argument)

    def global_scale(
        self, output_kind: str, pairs: Pairs, depth_range: tuple[float, float], where: str
    ) -> MetricScale:
        from disdepth_core.models.teachers.output import parse_fixed_scale

        return parse_fixed_scale(self.argument, output_kind)
