"""What ``eval-bag`` hands back and writes: the result, the per-frame CSV columns, the listed failures,
and ``summary.json`` / ``frames.csv`` / ``report.png`` (each written atomically)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.evaluation import ALIGNMENTS, METRIC_KEYS, accuracy_line
from disdepth_core.evaluation.scoring import SCALE_SOURCE
from disdepth_core.files import write_csv, write_json
from disdepth_core.serving.failures import FAILURE_CAUSES, FrameFailure
from disdepth_core.visualize.preview import render_report

__all__ = ["FRAME_COLUMNS", "MAX_LISTED_FAILURES", "EvalResult", "Failures", "write_results"]

MAX_LISTED_FAILURES = 1000
FRAME_COLUMNS = (
    "index",
    "stamp_ns",
    "status",
    "paired",
    "gt_stamp_ns",
    "gt_dt_ms",
    "latency_ms",
    "inference_ms",
    "depth_valid_fraction",
    "depth_min_m",
    "depth_median_m",
    "depth_max_m",
    "n_scored",
    "gt_in_range",
    "prediction",
    "scale",
    "scale_source",
    "scale_state",
    "scale_reason",
    *(f"{alignment}_{key}" for alignment in (*ALIGNMENTS, SCALE_SOURCE) for key in METRIC_KEYS),
)


@dataclass
class EvalResult:
    """Summary (what `summary.json` holds), per-frame rows (`frames.csv`) and the report inputs."""

    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    error: str | None = None
    sample: dict[str, Any] | None = None
    error_by_distance: dict[str, list[float]] | None = None
    depth_values: np.ndarray | None = None


class Failures:
    """Every message that cost a frame (or part of one): counted per cause, the first ones listed."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(FAILURE_CAUSES, 0)
        self.listed: list[dict[str, Any]] = []

    def add(self, topic: str, stamp: int | None, failure: FrameFailure) -> None:
        self.counts[failure.cause] += 1
        if len(self.listed) < MAX_LISTED_FAILURES:
            self.listed.append(
                {"topic": topic, "stamp_ns": stamp, "cause": failure.cause, "reason": failure.message}
            )

    def summary(self) -> dict[str, Any]:
        total = sum(self.counts.values())
        return {"counts": self.counts, "listed": self.listed, "not_listed": total - len(self.listed)}


def write_results(result: EvalResult, out_dir: Path) -> dict[str, Path]:
    """Write `summary.json`, `frames.csv` and `report.png` into `out_dir` (each atomically); returns paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in ("summary.json", "frames.csv", "report.png")}
    write_json(paths["summary.json"], result.summary)
    write_csv(paths["frames.csv"], result.rows, FRAME_COLUMNS)
    model = result.summary["model"]
    metrics = result.summary.get("metrics")
    title = f"{Path(result.summary['bag']).name}: {model['name']} ({model['backend']})"
    if metrics and metrics["raw"]["n_images"]:
        title += "\n" + accuracy_line("raw metric", metrics["raw"], metrics["coverage"], metrics["range"])
    render_report(paths["report.png"], result.sample, result.error_by_distance, result.depth_values, title)
    return paths
