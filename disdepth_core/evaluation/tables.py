"""Printed results: one accuracy line (demo) or a table with one row per alignment mode (``disdepth eval``,
``eval-bag``), always with the GT range and coverage of :mod:`disdepth_core.evaluation.scoring`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from disdepth_core.evaluation.alignment import ALIGNMENT_LABELS
from disdepth_core.evaluation.metrics import METRIC_KEYS, METRIC_LABELS

__all__ = ["accuracy_line", "coverage_note", "format_summary", "format_table"]

LINE_METRICS = ("abs_rel", "rmse", "d1")


def _cell(key: str, value: float) -> str:
    return f"{value:.3f}" if key == "rmse" else f"{value:.4f}"


def coverage_note(coverage: Mapping[str, float], depth_range: Mapping[str, Any]) -> str:
    """What was scored: ``GT 0.1-80 m: 97.1 % of valid GT scored, 2.3 % of it without a prediction (...)``.

    ``coverage`` and ``depth_range`` are a :class:`DepthScorer` summary's ``coverage`` and ``range``.
    """
    crop = f", {depth_range['crop']} crop" if depth_range.get("crop") else ""
    note = (
        f"GT {depth_range['min_depth']:g}-{depth_range['max_depth']:g} m{crop}: "
        f"{100 * coverage['gt_in_range']:.1f} % of valid GT scored"
    )
    missing = 1.0 - coverage["prediction"]
    if missing > 0:
        note += f", {100 * missing:.1f} % of it without a prediction (scored as the worst in-range depth)"
    return note


def accuracy_line(
    label: str,
    metrics: Mapping[str, float],
    coverage: Mapping[str, float],
    depth_range: Mapping[str, Any],
    keys: Sequence[str] = LINE_METRICS,
) -> str:
    """One printed accuracy line: ``<label>: AbsRel 0.660  RMSE 2.607 m  d1 0.022 (60 frames; <coverage>)``.

    ``label`` names the alignment (or any other way the depth was made metric), ``metrics`` is one
    alignment's entry of a :class:`DepthScorer` summary (its ``n_images`` is shown when present).
    """
    values = "  ".join(
        f"{METRIC_LABELS[key]} {metrics[key]:.3f}{' m' if key == 'rmse' else ''}" for key in keys
    )
    frames = f"{metrics['n_images']} frames; " if "n_images" in metrics else ""
    return f"{label}: {values} ({frames}{coverage_note(coverage, depth_range)})"


def format_table(rows: Sequence[tuple[str, Mapping[str, float]]], title: str = "") -> str:
    """A table with one line per ``(label, metrics)`` pair, columns AbsRel ... d3."""
    headers = ["", *(METRIC_LABELS[k] for k in METRIC_KEYS)]
    lines = [[label, *(_cell(k, metrics[k]) for k in METRIC_KEYS)] for label, metrics in rows]
    widths = [max(len(str(line[i])) for line in [headers, *lines]) for i in range(len(headers))]

    def join(cells: Sequence[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return " | ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in pairs)

    out = [join(headers), "-+-".join("-" * w for w in widths), *(join(line) for line in lines)]
    return "\n".join(([title] if title else []) + out)


def format_summary(summary: Mapping[str, Any], title: str = "") -> str:
    """Every alignment mode of a :class:`DepthScorer` summary, then the images, GT range and coverage."""
    rows = [(ALIGNMENT_LABELS[name], summary[name]) for name in ALIGNMENT_LABELS if name in summary]
    if "scale_source_spec" in summary:  # what the robot publishes with its scale source
        rows.append((f"scale source {summary['scale_source_spec']}", summary["scale_source"]))
    first = rows[0][1] if rows else {}
    note = (
        f"{first.get('n_images', 0)} images ({first.get('n_skipped', 0)} without ground truth in range); "
        f"{coverage_note(summary['coverage'], summary['range'])}"
    )
    return format_table(rows, title) + "\n" + note
