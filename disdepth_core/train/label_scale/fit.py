"""``fit[:median|lsq]``: ONE global scale (and shift) fitted once on frames with ground truth.

Alignment (the :class:`~disdepth_core.models.teachers.output.MetricScale` forms, fitted in
:mod:`disdepth_core.train.scale_fit`): ``median`` (monodepth2's median scaling) or ``lsq`` (least
squares; for inverse depth the MiDaS scale-and-shift fit). Default: ``median`` for depth, ``lsq`` for
inverse depth (its unknown shift cannot be ignored).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .registry import LabelScaleSource, Pairs, register_label_scale

if TYPE_CHECKING:
    from disdepth_core.models.teachers.output import MetricScale

ALIGN_MODES = ("median", "lsq")


@register_label_scale
class FitLabelScale(LabelScaleSource):
    name = "fit"
    usage = "fit[:median|lsq]"
    summary = "one global fit on frames with ground truth"
    takes_scale_data = True
    label = "global fit"

    @classmethod
    def from_argument(cls, argument: str) -> FitLabelScale:
        if argument and argument not in ALIGN_MODES:
            raise ValueError(
                f"scale source '{cls.name}:{argument}': alignment must be one of {', '.join(ALIGN_MODES)}"
            )
        return cls(argument)

    def mode_for(self, output_kind: str) -> str:
        """The alignment used for ``output_kind`` (the given one, else the default of the module doc)."""
        return self.argument or ("lsq" if output_kind == "relative_inverse_depth" else "median")

    def missing_input(self, depth_topic: bool, scale_data: bool) -> str | None:
        if depth_topic or scale_data:
            return None
        return "--scale fit needs frames with ground truth: --depth-topic, or --scale-data DIR"

    def global_scale(
        self, output_kind: str, pairs: Pairs, depth_range: tuple[float, float], where: str
    ) -> MetricScale:
        from ..scale_fit import fit_global

        mode = self.mode_for(output_kind)
        return fit_global(pairs, output_kind, mode, depth_range, f"{self.label} on {where}")
