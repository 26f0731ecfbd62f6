"""Evaluate a :class:`~disdepth_core.runtime.DepthEstimator` on a dataset of samples.

The model runs through the runtime (the robot's own pre/post-processing) at each image's native
resolution; a camera-aware model gets the sample's focal length from ``K`` (Metric3D convention). Each
prediction is scored by :class:`~disdepth_core.evaluation.scoring.DepthScorer`, grouped by the
sample's ``group`` when it has one (the data source of an RGB-D folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from disdepth_core.evaluation.scoring import DepthScorer, EvalRange

__all__ = ["DatasetResult", "evaluate_estimator", "focal_of"]


@dataclass
class DatasetResult:
    """Dataset summary, per-group summaries and per-frame rows (``index``, ``group``, metrics...)."""

    summary: dict[str, Any]
    groups: dict[str, dict[str, Any]]
    rows: list[dict[str, Any]]


def focal_of(sample: dict[str, Any]) -> float | None:
    """fx (pixels) of a sample's ``K``, or None when the sample has none."""
    k = sample.get("K")
    if k is None:
        return None
    fx = float(np.asarray(k, dtype=np.float64).reshape(3, 3)[0, 0])
    return fx if np.isfinite(fx) and fx > 0 else None


def evaluate_estimator(
    estimator: Any,
    samples: Any,
    eval_range: EvalRange,
    max_samples: int = 0,
    progress: bool = True,
) -> DatasetResult:
    """Score ``estimator.predict`` on ``samples`` (dicts with ``image``, ``depth``, optional ``K``,
    ``group``); ``max_samples`` > 0 evaluates only the first ones."""
    scorer = DepthScorer(eval_range)
    n = len(samples) if max_samples <= 0 else min(max_samples, len(samples))
    rows = []
    for index in tqdm(range(n), desc="evaluate", disable=not progress, dynamic_ncols=True, leave=False):
        sample = samples[index]
        depth = estimator.predict(np.asarray(sample["image"]), fx=focal_of(sample)).depth
        group = sample.get("group")
        score = scorer.add(depth, np.asarray(sample["depth"], np.float32), group=group)
        rows.append({"index": index, "group": group, **score.row()})
    if scorer.n_images == 0:
        raise ValueError(f"none of the {n} evaluated images has scored pixels in {eval_range}")
    return DatasetResult(scorer.summary(), scorer.group_summaries(), rows)
