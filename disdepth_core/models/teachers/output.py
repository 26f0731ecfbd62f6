"""What a teacher's raw output means, and the affine map that turns it into metres.

A foundation depth model predicts one of three things (a robot needs the first, metres):

- ``metric_depth``: metres (Depth Anything V2 metric, GLPN, ZoeDepth, disdepth checkpoints);
- ``relative_depth``: depth up to an unknown scale (larger = farther, e.g. PyDNet++);
- ``relative_inverse_depth``: inverse depth (disparity) up to an unknown scale and shift, larger =
  nearer (Depth Anything V2 relative, MiDaS-style DPT).

:class:`MetricScale` maps a raw output to metres: ``depth = scale * raw + shift`` for depth-like
outputs, ``depth = 1 / (scale * raw + shift)`` for inverse depth (the MiDaS alignment, Ranftl et al.
2020), clamped to the depth range. A metric teacher keeps scale 1 and shift 0 unless a scale source
corrects it. Where the scale comes from (a fixed value, a fit on frames with ground truth, a depth topic
per frame) is :mod:`disdepth_core.train.scale_fit`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from disdepth_core.teacher_kinds import OUTPUT_KINDS, check_output_kind

__all__ = ["OUTPUT_KINDS", "MetricScale", "check_output_kind", "parse_fixed_scale"]


@dataclass(frozen=True)
class MetricScale:
    """Raw teacher output -> metres: see the module docstring. ``source`` says where the values came from."""

    kind: str = "metric_depth"
    scale: float = 1.0
    shift: float = 0.0
    source: str = "metric teacher"

    def __post_init__(self) -> None:
        check_output_kind(self.kind)
        if not (np.isfinite(self.scale) and self.scale > 0 and np.isfinite(self.shift)):
            raise ValueError(
                f"metric scale must be finite and > 0 (shift finite), got {self.scale}, {self.shift}"
            )

    @property
    def identity(self) -> bool:
        """Whether raw output is used as metres unchanged."""
        return self.kind == "metric_depth" and self.scale == 1.0 and self.shift == 0.0

    def to_metric(self, raw: Tensor, min_depth: float, max_depth: float) -> Tensor:
        """Metres (clamped to ``[min_depth, max_depth]``) of a raw output tensor."""
        if self.kind == "relative_inverse_depth":
            depth = 1.0 / (self.scale * raw + self.shift).clamp_min(1.0 / max_depth)
        else:
            depth = self.scale * raw + self.shift
        return depth.clamp(min_depth, max_depth)

    def to_metric_numpy(self, raw: np.ndarray, min_depth: float, max_depth: float) -> np.ndarray:
        """:meth:`to_metric` for a numpy array (float32 out)."""
        return self.to_metric(torch.from_numpy(np.asarray(raw, np.float32)), min_depth, max_depth).numpy()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> MetricScale:
        return cls(str(values["kind"]), float(values["scale"]), float(values["shift"]), str(values["source"]))

    def describe(self) -> str:
        """One line: the formula with its values and where they came from."""
        if self.identity:
            return f"metric output used as is ({self.source})"
        formula = (
            f"depth = 1 / ({self.scale:.4g} * raw + {self.shift:.4g})"
            if self.kind == "relative_inverse_depth"
            else f"depth = {self.scale:.4g} * raw + {self.shift:.4g}"
        )
        return f"{self.kind}: {formula} ({self.source})"


def parse_fixed_scale(text: str, kind: str) -> MetricScale:
    """``"S"`` or ``"S,SHIFT"`` (the value of ``fixed:``) as a :class:`MetricScale` for ``kind``."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(
            f"fixed scale must be 'fixed:SCALE' or 'fixed:SCALE,SHIFT', got 'fixed:{text}'"
        ) from None
    if len(values) not in (1, 2):
        raise ValueError(f"fixed scale must be 'fixed:SCALE' or 'fixed:SCALE,SHIFT', got 'fixed:{text}'")
    return MetricScale(kind, values[0], values[1] if len(values) == 2 else 0.0, f"fixed scale fixed:{text}")
