"""Summary statistics of the offline tools: per-frame depth statistics and latency percentiles."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["depth_stats", "percentiles"]


def depth_stats(depth: np.ndarray) -> dict[str, float]:
    """Valid fraction and min/median/max (metres) of a depth map with NaN for invalid."""
    valid = depth[np.isfinite(depth)]
    if valid.size == 0:
        return {"valid_fraction": 0.0, "min_m": math.nan, "median_m": math.nan, "max_m": math.nan}
    return {
        "valid_fraction": valid.size / depth.size,
        "min_m": float(valid.min()),
        "median_m": float(np.median(valid)),
        "max_m": float(valid.max()),
    }


def percentiles(values: Sequence[float], qs: Iterable[int] = (50, 95)) -> dict[str, float]:
    """``{"p50": ..., "p95": ..., "mean": ...}`` of ``values`` (NaN when empty)."""
    data = np.asarray(values, dtype=np.float64)
    result = {f"p{q}": float(np.percentile(data, q)) if data.size else math.nan for q in qs}
    result["mean"] = float(data.mean()) if data.size else math.nan
    return result
