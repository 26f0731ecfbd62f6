"""The distill-bag run's outputs: ``report.png``, ``summary.json`` and ``model_card.json``.

``report.png``: per example held-out frame, the image, the teacher's metric depth, the student's, their
relative difference and (where the bag has one) the depth topic, with the headline figures in the
title. ``model_card.json`` is what a user needs to ship or refuse the model: teacher (spec, kind, output,
licence), data (bags, topics, frame counts, split), scale source and how well the aligned teacher fits
the sensor, the student (architecture, size, depth range, camera awareness), its held-out metrics and
latency. The same card is stored inside ``student.onnx`` (metadata key ``model_card``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.files import atomic_write

HEADLINE = ("abs_rel", "rmse", "d1")


def headline(summary: dict[str, Any] | None, alignment: str = "raw") -> str:
    """``AbsRel 0.123  RMSE 0.456 m  d1 0.789`` of one scorer summary (``n/a`` when absent)."""
    if not summary:
        return "n/a"
    m = summary[alignment]
    return f"AbsRel {m['abs_rel']:.3f}  RMSE {m['rmse']:.3f} m  d1 {m['d1']:.3f}"


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
    lines = [title, f"student vs teacher (held out): {headline(evaluation.get('student_vs_teacher'))}"]
    if evaluation.get("student_vs_depth_topic"):
        lines.append(f"student vs depth topic: {headline(evaluation['student_vs_depth_topic'])}")
        lines.append(f"teacher vs depth topic: {headline(evaluation['teacher_vs_depth_topic'])}")
    fig.suptitle("\n".join(lines), fontsize=9)
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
        values.append(sensor[np.isfinite(sensor) & (sensor > 0)])
    pooled = np.concatenate(values)
    low, high = np.percentile(pooled, (2, 98)) if pooled.size else (0.0, 1.0)
    return float(low), float(max(high, low + 0.1))
