"""Fitting a relative teacher's output to metric ground truth, and how well the aligned teacher fits
(the sources that use it: :mod:`disdepth_core.train.label_scale`).

Alignment (the :class:`~disdepth_core.models.teachers.output.MetricScale` forms): for depth-like output
``median`` is ``s = median(gt) / median(raw)`` (monodepth2's median scaling,
:func:`~disdepth_core.scale.ratios.ratio_of_medians`) and ``lsq`` the least-squares
``s * raw + b ~ gt``; for inverse depth both work on ``1 / gt`` (``lsq`` = the MiDaS scale-and-shift
fit). A fit needs ``MIN_POINTS`` valid pixels and a positive scale; an ``lsq`` fit with a non-positive
scale falls back to ``median``. The global ``median`` fit is the median of per-frame scales; the global
``lsq`` fit pools up to ``POINTS_PER_FRAME`` random pixels of every frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from disdepth_core.evaluation import DepthScorer, EvalRange
from disdepth_core.geometry import valid_depth
from disdepth_core.models.teachers.output import MetricScale
from disdepth_core.scale.ratios import ratio_of_medians

MIN_POINTS = 20
POINTS_PER_FRAME = 4096


def _valid(
    raw: np.ndarray, gt: np.ndarray, depth_range: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    raw, gt = np.asarray(raw, np.float64).ravel(), np.asarray(gt, np.float64).ravel()
    with np.errstate(invalid="ignore"):
        in_range = (gt >= depth_range[0]) & (gt <= depth_range[1])
    keep = valid_depth(gt) & in_range & valid_depth(raw)
    return raw[keep], gt[keep]


def _target(gt: np.ndarray, output_kind: str) -> np.ndarray:
    return 1.0 / gt if output_kind == "relative_inverse_depth" else gt


def _solve(raw: np.ndarray, target: np.ndarray, mode: str) -> tuple[float, float] | None:
    if len(raw) < MIN_POINTS:
        return None
    if mode == "lsq":
        design = np.stack([raw, np.ones_like(raw)], axis=1)
        (scale, shift), *_ = np.linalg.lstsq(design, target, rcond=None)
        if np.isfinite(scale) and scale > 0 and np.isfinite(shift):
            return float(scale), float(shift)
    scale = ratio_of_medians(target, raw)
    return (scale, 0.0) if scale is not None and np.isfinite(scale) and scale > 0 else None


def fit_frame(
    raw: np.ndarray,
    gt: np.ndarray,
    output_kind: str,
    mode: str,
    depth_range: tuple[float, float],
    source: str,
) -> MetricScale | None:
    """One frame's alignment of ``raw`` (teacher output) to metric ``gt`` (same shape; 0/NaN invalid)."""
    r, g = _valid(raw, gt, depth_range)
    solved = _solve(r, _target(g, output_kind), mode)
    return None if solved is None else MetricScale(output_kind, solved[0], solved[1], source)


def fit_global(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]],
    output_kind: str,
    mode: str,
    depth_range: tuple[float, float],
    source: str,
    seed: int = 0,
) -> MetricScale:
    """One scale over many ``(raw, gt)`` frames (see the module docstring); ValueError if none is usable."""
    rng = np.random.default_rng(seed)
    scales, raws, targets, frames = [], [], [], 0
    for raw, gt in pairs:
        r, g = _valid(raw, gt, depth_range)
        if len(r) < MIN_POINTS:
            continue
        frames += 1
        t = _target(g, output_kind)
        if mode == "median":
            scales.append(ratio_of_medians(t, r))
        else:
            pick = rng.choice(len(r), size=min(len(r), POINTS_PER_FRAME), replace=False)
            raws.append(r[pick])
            targets.append(t[pick])
    if frames == 0:
        raise ValueError(
            f"no frame with at least {MIN_POINTS} valid ground-truth pixels in {depth_range[0]:g}-"
            f"{depth_range[1]:g} m to fit the teacher's metric scale on"
        )
    if mode == "median":
        solved = (float(np.median(scales)), 0.0)
    else:
        solved = _solve(np.concatenate(raws), np.concatenate(targets), "lsq")
        if solved is None:
            raise ValueError("the global least-squares scale fit failed (non-positive scale)")
    return MetricScale(output_kind, solved[0], solved[1], f"{source} ({frames} frames, {mode})")


def alignment_quality(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]], eval_range: EvalRange
) -> dict[str, Any] | None:
    """How well metric teacher depth matches ground truth: the evaluation package's summary of
    ``(teacher_metric_depth, gt)`` frames (``raw`` = the aligned teacher as it teaches); None without GT."""
    scorer = DepthScorer(eval_range)
    for depth, gt in pairs:
        scorer.add(depth, gt)
    return scorer.summary() if scorer.n_images else None
