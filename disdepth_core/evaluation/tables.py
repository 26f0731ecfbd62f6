"""Plain-text result tables: one row per alignment mode (and per group), the usual metric order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from disdepth_core.evaluation.alignment import ALIGNMENT_LABELS
from disdepth_core.evaluation.metrics import METRIC_KEYS, METRIC_LABELS

__all__ = ["format_summary", "format_table"]


def _cell(key: str, value: float) -> str:
    return f"{value:.3f}" if key == "rmse" else f"{value:.4f}"


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
    """Every alignment mode of a :class:`DepthScorer` summary, plus its coverage line."""
    rows = [(ALIGNMENT_LABELS[name], summary[name]) for name in ALIGNMENT_LABELS if name in summary]
    if "scale_source_spec" in summary:  # what the robot publishes with its scale source
        rows.append((f"scale source {summary['scale_source_spec']}", summary["scale_source"]))
    coverage = summary["coverage"]
    first = rows[0][1] if rows else {}
    note = (
        f"{first.get('n_images', 0)} images ({first.get('n_skipped', 0)} without scored pixels); "
        f"coverage: prediction {coverage['prediction']:.3f} of evaluated GT, "
        f"GT in range {coverage['gt_in_range']:.3f} of valid GT"
    )
    return format_table(rows, title) + "\n" + note
