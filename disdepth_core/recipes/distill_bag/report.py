"""The distill-bag run's outputs: ``report.png``, ``summary.json`` and ``model_card.json``.

``report.png``: per example held-out frame, the image, the teacher's metric depth, the student's, their
relative difference and (where the bag has one) the depth topic; the title holds the evaluation's lines
(:func:`summary_lines`), the student's fidelity to its teacher first. ``model_card.json`` is what a user
needs to ship or refuse the model: the student's fidelity to its teacher, teacher (spec, kind, output,
licence), data (bags, topics, frame counts, split), scale source and how well the aligned teacher fits
the sensor, the student (architecture, size, depth range, camera awareness, start weights), its
held-out and extra-frame metrics and latency. ``student.onnx`` itself carries the teacher, its licence,
the training data and the scale source in its metadata (written at export, before the evaluation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.evaluation import ALIGNMENT_LABELS
from disdepth_core.files import atomic_write
from disdepth_core.geometry import valid_depth

from .evaluate import FIDELITY_LABELS


def headline(summary: dict[str, Any] | None, alignment: str = "raw") -> str:
    """One scorer summary in one alignment, with its frames, GT range and coverage (``n/a`` when absent):
    ``raw metric: AbsRel 0.123  RMSE 0.456 m  d1 0.789 (12 frames, GT 0.1-10 m, coverage 100.0%)``."""
    if not summary:
        return "n/a"
    m, r = summary[alignment], summary["range"]
    return (
        f"{ALIGNMENT_LABELS[alignment]}: AbsRel {m['abs_rel']:.3f}  RMSE {m['rmse']:.3f} m  d1 {m['d1']:.3f} "
        f"({m['n_images']} frames, GT {r['min_depth']:g}-{r['max_depth']:g} m, "
        f"coverage {summary['coverage']['prediction']:.1%})"
    )


def fidelity_line(figures: dict[str, Any] | None) -> str:
    """The fidelity figures (:func:`.evaluate.fidelity`) in one line (``n/a`` when absent)."""
    if not figures:
        return "n/a"
    parts = [
        f"{label} AbsRel {figures[key]['abs_rel']:.3f} d1 {figures[key]['d1']:.3f}"
        for key, label in FIDELITY_LABELS.items()
        if key in figures
    ]
    low, high = figures["reference_range_m"]
    return (
        "; ".join(parts) + f" ({figures['frames']} frames, teacher {low:g}-{high:g} m as reference, "
        f"coverage {figures['coverage']:.1%})"
    )


def summary_lines(evaluation: dict[str, Any]) -> list[str]:
    """The evaluation in lines, fidelity first: held-out tail, extra evaluation frames, ground truth."""
    fidelity = evaluation["fidelity"]
    lines = [f"fidelity, student vs teacher on the held-out tail: {fidelity_line(fidelity['heldout'])}"]
    if fidelity["eval_data"]:
        lines.append(f"fidelity, student vs teacher on --eval-data: {fidelity_line(fidelity['eval_data'])}")
    if evaluation.get("student_vs_depth_topic"):
        lines.append(f"student vs depth topic: {headline(evaluation['student_vs_depth_topic'])}")
        lines.append(f"teacher vs depth topic: {headline(evaluation['teacher_vs_depth_topic'])}")
    extra = evaluation.get("eval_data")
    if extra:
        for who in ("student", "teacher"):
            summary = extra[f"{who}_vs_ground_truth"]
            lines.append(
                f"{who} vs --eval-data ground truth: {headline(summary, 'median')}; {headline(summary)}"
            )
    return lines


def render_report(
    path: Path, examples: list[dict[str, np.ndarray]], evaluation: dict[str, Any], title: str
) -> None:
    """Write ``report.png`` atomically (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with_sensor = any(e["sensor"] is not None for e in examples)
    columns = ["image", "teacher (m)", "student (m)", "|student - teacher| / teacher"]
    columns += ["depth topic (m)"] if with_sensor else []
    rows = max(1, len(examples))
    fig, axes = plt.subplots(
        rows, len(columns), figsize=(3.2 * len(columns), 2.6 * rows + 1.0), squeeze=False
    )
    for row, example in enumerate(examples):
        teacher, student = example["teacher"], example["student"]
        vmin, vmax = _depth_limits(teacher, example["sensor"])
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = np.abs(student - teacher) / teacher
        panels = [(example["image"], {}), (teacher, {"cmap": "turbo", "vmin": vmin, "vmax": vmax})]
        panels += [
            (student, {"cmap": "turbo", "vmin": vmin, "vmax": vmax}),
            (relative, {"cmap": "magma", "vmin": 0, "vmax": 0.5}),
        ]
        if with_sensor:
            sensor = example["sensor"]
            shown = np.full((2, 2), np.nan) if sensor is None else np.where(sensor > 0, sensor, np.nan)
            panels.append((shown, {"cmap": "turbo", "vmin": vmin, "vmax": vmax, "interpolation": "nearest"}))
        for col, (data, style) in enumerate(panels):
            axis = axes[row][col]
            handle = axis.imshow(data, **style)
            axis.set_axis_off()
            if row == 0:
                axis.set_title(columns[col], fontsize=9)
            if style:
                fig.colorbar(handle, ax=axis, fraction=0.046, pad=0.02)
    fig.suptitle("\n".join([title, *summary_lines(evaluation)]), fontsize=8)
    fig.tight_layout()

    def write(tmp: Path) -> None:
        fig.savefig(tmp, dpi=90, format="png")

    try:
        atomic_write(path, write)
    finally:
        plt.close(fig)


def _depth_limits(teacher: np.ndarray, sensor: np.ndarray | None) -> tuple[float, float]:
    """One colour range for the depth panels of a row: 2nd-98th percentile of teacher and sensor depth."""
    values = [teacher[np.isfinite(teacher)]]
    if sensor is not None:
        values.append(sensor[valid_depth(sensor)])
    pooled = np.concatenate(values)
    low, high = np.percentile(pooled, (2, 98)) if pooled.size else (0.0, 1.0)
    return float(low), float(max(high, low + 0.1))
