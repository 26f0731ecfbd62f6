"""Evaluation of the exported student: its fidelity to the teacher first, then ground truth.

The student runs as the robot runs it: the exported ONNX file through
:func:`disdepth_core.runtime.load_estimator` on CPU (a camera-aware student gets each frame's focal
length). Every comparison is scored by :class:`disdepth_core.evaluation.DepthScorer` in the student's
depth range, all alignment modes:

- **held-out tail** (the frames the split held out by time): ``student_vs_teacher`` against the
  teacher's metric pseudo-label of the same frame (the reference takes the place of ground truth);
  ``student_vs_depth_topic`` and ``teacher_vs_depth_topic`` (frames with a depth partner) against the
  sensor's depth on the depth image's own grid (predictions resized with nearest neighbour);
- **extra evaluation frames** (``--eval-data``: RGB-D folders such as real_dev, never trained on): the
  teacher runs on each whole frame at its own resolution, metres through the run's global scale;
  ``student_vs_teacher``, ``student_vs_ground_truth`` and ``teacher_vs_ground_truth`` at each frame's
  native resolution, overall and per source.

**Fidelity** (:func:`fidelity`) is the first number a run reports: how much of its teacher the student
learned, independent of the metric scale. Per image, the student's depth is aligned to the teacher's by
the median ratio (monodepth2 median scaling) and, for relative teachers, also by the least-squares scale
and shift in inverse depth (MiDaS; the invariance a relative teacher's output has); AbsRel and delta1 of
those alignments, with the frame count, the reference's depth range and the coverage.

Latency is ``DepthEstimator.predict`` wall time per frame (pre-processing, inference, post-processing),
median and 95th percentile after one warm-up call, at the ONNX Runtime thread count given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from disdepth_core.evaluation import DepthScorer, EvalRange, focal_of
from disdepth_core.geometry import focal_of_matrix
from disdepth_core.models.teachers.output import MetricScale

from .cache import FrameCache, teacher_raw_for
from .labels import to_depth_grid
from .split import HELDOUT

EXAMPLES = 3
HELDOUT_SETS = ("student_vs_teacher", "student_vs_depth_topic", "teacher_vs_depth_topic")
EVAL_DATA_SETS = ("student_vs_teacher", "student_vs_ground_truth", "teacher_vs_ground_truth")
FIDELITY_LABELS = {"median": "median-aligned", "lsq_scale_shift_inv": "scale+shift (inverse depth)"}


def fidelity_alignments(output_kind: str) -> tuple[str, ...]:
    """Alignments of the fidelity figures: median scaling, plus scale-and-shift in inverse depth for a
    relative teacher."""
    return ("median",) if output_kind == "metric_depth" else ("median", "lsq_scale_shift_inv")


def fidelity(summary: dict[str, Any] | None, output_kind: str) -> dict[str, Any] | None:
    """The fidelity figures of a student-vs-teacher scorer summary (module docstring); None without one."""
    if not summary:
        return None
    figures: dict[str, Any] = {
        alignment: {key: summary[alignment][key] for key in ("abs_rel", "d1")}
        for alignment in fidelity_alignments(output_kind)
    }
    return {
        **figures,
        "frames": summary["median"]["n_images"],
        "reference_range_m": [summary["range"]["min_depth"], summary["range"]["max_depth"]],
        "coverage": summary["coverage"]["prediction"],
    }


@dataclass
class EvalFrames:
    """Extra evaluation frames (RGB-D folders) and how the teacher labels them."""

    folders: list[Path]
    teacher: nn.Module
    scale: MetricScale
    device: torch.device
    teacher_size: tuple[int, int] | None = None


@dataclass
class HeldoutResult:
    """Summaries (JSON-ready), latency and a few frames for the report."""

    summary: dict[str, Any]
    examples: list[dict[str, np.ndarray]] = field(default_factory=list)


def evaluate_heldout(
    model_path: Path,
    cache: FrameCache,
    labels: dict[str, Any],
    threads: int | None,
    eval_frames: EvalFrames | None = None,
) -> HeldoutResult:
    """Score the student at ``model_path`` on the held-out frames and on ``eval_frames`` (see the
    module docstring); ``summary["fidelity"]`` holds the fidelity figures of both."""
    from disdepth_core.runtime import load_estimator

    estimator = load_estimator(model_path, device="cpu", threads=threads)
    depth_range = (float(labels["min_depth"]), float(labels["max_depth"]))
    scorers = {name: DepthScorer(EvalRange(*depth_range)) for name in HELDOUT_SETS}
    fx = {f["id"]: focal_of_matrix(f["K"]) or None for f in cache.frames}
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
        "eval_data": None if eval_frames is None else evaluate_frames(estimator, eval_frames, depth_range),
    }
    kind = labels["global_scale"]["kind"]
    summary["fidelity"] = {
        "heldout": fidelity(summary["student_vs_teacher"], kind),
        "eval_data": fidelity(summary["eval_data"]["student_vs_teacher"], kind) if eval_frames else None,
    }
    return HeldoutResult(summary, examples)


def evaluate_frames(estimator: Any, frames: EvalFrames, depth_range: tuple[float, float]) -> dict[str, Any]:
    """``EVAL_DATA_SETS`` summaries of the student (``estimator``) on ``frames``, overall and per source."""
    from disdepth_core.data.rgbd_folder import RGBDFolder

    scorers = {name: DepthScorer(EvalRange(*depth_range)) for name in EVAL_DATA_SETS}
    for folder in frames.folders:
        for frame in RGBDFolder(folder):
            student = estimator.predict(frame.image, fx=focal_of(frame.sample())).depth
            raw = teacher_raw_for(
                frames.teacher, frame.image, frame.image.shape[:2], frames.device, frames.teacher_size
            )
            teacher = frames.scale.to_metric_numpy(raw, *depth_range)
            scorers["student_vs_teacher"].add(student, teacher, group=frame.source)
            scorers["student_vs_ground_truth"].add(student, frame.depth, group=frame.source)
            scorers["teacher_vs_ground_truth"].add(teacher, frame.depth, group=frame.source)
    return {
        "folders": [str(folder) for folder in frames.folders],
        "frames": scorers["student_vs_teacher"].n_images,
        **{name: scorer.summary() for name, scorer in scorers.items()},
        "by_source": {name: scorer.group_summaries() for name, scorer in scorers.items()},
    }
