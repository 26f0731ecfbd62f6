"""Held-out evaluation of the exported student: against its teacher and against the bag's depth topic.

The student runs as the robot runs it: the exported ONNX file through
:func:`disdepth_core.runtime.load_estimator` on CPU (a camera-aware student gets each frame's focal
length). Every comparison is scored by :class:`disdepth_core.evaluation.DepthScorer` in the student's
depth range, all alignment modes:

- ``student_vs_teacher``: against the teacher's metric pseudo-label of the same frame (how close the
  student got to what it was taught);
- ``student_vs_depth_topic`` and ``teacher_vs_depth_topic`` (frames with a depth partner): both models
  against the sensor's depth, on the depth image's own grid (predictions resized with nearest neighbour).

Latency is ``DepthEstimator.predict`` wall time per frame (pre-processing, inference, post-processing),
median and 95th percentile after one warm-up call, at the ONNX Runtime thread count given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.evaluation import DepthScorer, EvalRange
from disdepth_core.models.teacher_output import MetricScale

from .cache import FrameCache
from .labels import to_depth_grid
from .split import HELDOUT

EXAMPLES = 3


@dataclass
class HeldoutResult:
    """Summaries (JSON-ready), latency and a few frames for the report."""

    summary: dict[str, Any]
    examples: list[dict[str, np.ndarray]] = field(default_factory=list)


def evaluate_heldout(
    model_path: Path, cache: FrameCache, labels: dict[str, Any], threads: int | None
) -> HeldoutResult:
    """Score the student at ``model_path`` on the held-out frames (see the module docstring)."""
    from disdepth_core.runtime import load_estimator

    estimator = load_estimator(model_path, device="cpu", threads=threads)
    depth_range = (float(labels["min_depth"]), float(labels["max_depth"]))
    eval_range = EvalRange(*depth_range)
    scorers = {
        name: DepthScorer(eval_range)
        for name in ("student_vs_teacher", "student_vs_depth_topic", "teacher_vs_depth_topic")
    }
    fx = {f["id"]: f["K"][0][0] if f["K"] else None for f in cache.frames}
    ids = sorted(int(i) for i, v in labels["frames"].items() if v["split"] == HELDOUT)
    picks = set(ids[:: max(1, len(ids) // EXAMPLES)][:EXAMPLES])
    totals, inference, examples = [], [], []
    first = cache.load(ids[0], ("image",))["image"]
    estimator.predict(first, fx=fx[ids[0]])  # warm-up (session initialisation)
    for frame_id in ids:
        arrays = cache.load(frame_id, ("image", "raw", "depth"))
        scale = MetricScale.from_dict(labels["frames"][str(frame_id)]["scale"])
        teacher = scale.to_metric_numpy(arrays["raw"], *depth_range)
        result = estimator.predict(arrays["image"], fx=fx[frame_id])
        totals.append(result.timings.total_ms)
        inference.append(result.timings.inference_ms)
        scorers["student_vs_teacher"].add(result.depth, teacher)
        sensor = arrays.get("depth")
        if sensor is not None:
            scorers["student_vs_depth_topic"].add(to_depth_grid(result.depth, sensor.shape), sensor)
            scorers["teacher_vs_depth_topic"].add(to_depth_grid(teacher, sensor.shape), sensor)
        if frame_id in picks:
            examples.append(
                {"image": arrays["image"], "teacher": teacher, "student": result.depth, "sensor": sensor}
            )
    summary: dict[str, Any] = {
        "frames": len(ids),
        **{name: scorer.summary() if scorer.n_images else None for name, scorer in scorers.items()},
        "latency_ms": {
            "total_p50": float(np.median(totals)),
            "total_p95": float(np.percentile(totals, 95)),
            "inference_p50": float(np.median(inference)),
            "threads": threads,
            "backend": estimator.describe(),
        },
    }
    return HeldoutResult(summary, examples)
