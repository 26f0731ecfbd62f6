"""Evaluate a :class:`~disdepth_core.runtime.DepthEstimator` on a dataset of samples.

The model runs through the runtime (the robot's own pre/post-processing) at each image's native
resolution; a camera-aware model gets the sample's focal length from ``K`` (Metric3D convention). Each
prediction is scored by :class:`~disdepth_core.evaluation.scoring.DepthScorer`, grouped by the
sample's ``group`` when it has one (the data source of an RGB-D folder).

With a scale source (``scale``: a spec of :mod:`disdepth_core.scale`) every frame also gets the factor
that source chooses for it alone (frames are independent: a fresh tracker per frame, so no smoothing
or holding across unrelated images; ``ground_plane`` uses the sample's ``mount``), scored as the
``scale_source`` row; ``DatasetResult.decisions`` groups the frames by whether they have a mount and
what decided their scale (e.g. ``mounted, scale from ground_plane (measuring)``, ``no mount, scale from
model (fallback)``), counted separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from disdepth_core.evaluation.scoring import DepthScorer, EvalRange
from disdepth_core.geometry import CameraIntrinsics, focal_of_matrix
from disdepth_core.scale import FrameContext, ScaleTracker

__all__ = ["DatasetResult", "evaluate_estimator", "focal_of"]


@dataclass
class DatasetResult:
    """Dataset summary, per-group summaries, per-frame rows (``index``, ``group``, metrics...) and, with a
    scale source, summaries by decision (module docstring)."""

    summary: dict[str, Any]
    groups: dict[str, dict[str, Any]]
    rows: list[dict[str, Any]]
    decisions: dict[str, dict[str, Any]] | None = None


def focal_of(sample: dict[str, Any]) -> float | None:
    """fx (pixels) of a sample's ``K``, or None when it has none or an unusable one (zero, not finite)."""
    return focal_of_matrix(sample.get("K")) or None


def evaluate_estimator(
    estimator: Any,
    samples: Any,
    eval_range: EvalRange,
    max_samples: int = 0,
    progress: bool = True,
    scale: str | None = None,
) -> DatasetResult:
    """Score ``estimator.predict`` on ``samples`` (dicts with ``image``, ``depth``, optional ``K``,
    ``group``, ``mount``); ``max_samples`` > 0 evaluates only the first ones; ``scale`` adds the scale
    source's row (module docstring)."""
    scorer = DepthScorer(eval_range, scale_source=scale)
    by_decision = DepthScorer(eval_range, scale_source=scale) if scale else None
    n = len(samples) if max_samples <= 0 else min(max_samples, len(samples))
    rows = []
    for index in tqdm(range(n), desc="evaluate", disable=not progress, dynamic_ncols=True, leave=False):
        sample = samples[index]
        image = np.asarray(sample["image"])
        depth = estimator.predict(image, fx=focal_of(sample)).depth
        group = sample.get("group")
        gt = np.asarray(sample["depth"], np.float32)
        row: dict[str, Any] = {"index": index, "group": group}
        factor = None
        if scale:
            decision = ScaleTracker(scale, relative_model=estimator.info.relative).update(
                depth, _context(sample, depth)
            )
            factor = 1.0 if decision.scale is None else decision.scale
            mounted = "mounted" if sample.get("mount") is not None else "no mount"
            label = f"{mounted}, scale from {decision.source} ({decision.state})"
            row.update(scale=decision.scale, scale_decision=label, scale_reason=decision.reason)
            by_decision.add(depth, gt, group=label, source_scale=factor)
        score = scorer.add(depth, gt, group=group, source_scale=factor)
        rows.append({**row, **score.row()})
    if scorer.n_images == 0:
        raise ValueError(f"none of the {n} evaluated images has scored pixels in {eval_range}")
    decisions = by_decision.group_summaries() if by_decision is not None else None
    return DatasetResult(scorer.summary(), scorer.group_summaries(), rows, decisions)


def _context(sample: dict[str, Any], depth: np.ndarray) -> FrameContext:
    """What a robot would know at this frame: intrinsics from ``K`` (at the image size) and the mount."""
    k = sample.get("K")
    intrinsics = None
    if k is not None and focal_of(sample) is not None:
        intrinsics = CameraIntrinsics.from_K(np.asarray(k, dtype=np.float64), depth.shape[1], depth.shape[0])
    return FrameContext(0, intrinsics, sample.get("mount"))
