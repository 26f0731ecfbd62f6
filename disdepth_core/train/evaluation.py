"""Benchmark evaluation of any model file through the runtime (``disdepth eval`` and the benchmarks).

The model runs through :func:`disdepth_core.runtime.load_estimator` (``.safetensors`` on the torch
backend, ``.onnx`` on ONNX Runtime), the same pre/post-processing the robot uses, at each image's
native resolution. Metrics follow the monodepth2 / AdaBins protocol (``disdepth_core.metrics``):
NYU with the Eigen crop and depth in ``[1e-3, 10]`` m, KITTI with the Garg crop in ``[1e-3, 80]`` m,
synthetic scenes without a crop in ``[1e-3, max_depth of the scene kind]``. Pixels the runtime marks
invalid (NaN) count as predicting ``min_depth``, so they are errors, not silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from disdepth_core.metrics import METRIC_KEYS, PROTOCOLS, MetricAccumulator

DATASETS = ("nyu", "kitti", "synthetic")
TABLE_HEADERS = {
    "abs_rel": "AbsRel",
    "sq_rel": "SqRel",
    "rmse": "RMSE",
    "rmse_log": "RMSE log",
    "log10": "log10",
    "silog": "SILog",
    "d1": "d1",
    "d2": "d2",
    "d3": "d3",
}


@dataclass(frozen=True)
class Protocol:
    """Valid ground-truth range and evaluation crop of a dataset."""

    min_depth: float
    max_depth: float
    crop: str | None


def protocol_for(dataset: str, synthetic_kinds: Sequence[str] = ("room",)) -> Protocol:
    """The standard protocol of ``dataset`` (synthetic: the largest range of its scene kinds)."""
    if dataset in PROTOCOLS:
        p = PROTOCOLS[dataset]
        return Protocol(p["min_depth"], p["max_depth"], p["crop"])
    if dataset == "synthetic":
        from disdepth_core.data.synthetic import DEFAULT_MAX_DEPTH

        return Protocol(1e-3, max(DEFAULT_MAX_DEPTH[k] for k in synthetic_kinds), None)
    raise ValueError(f"unknown dataset {dataset!r}; choose one of {DATASETS}")


def evaluate_estimator(
    estimator: Any, samples: Any, protocol: Protocol, max_samples: int = 0, progress: bool = True
) -> dict[str, float]:
    """Mean per-image metrics of ``estimator.predict`` over ``samples`` (dicts with image + depth)."""
    accumulator = MetricAccumulator()
    n = len(samples) if max_samples <= 0 else min(max_samples, len(samples))
    for index in tqdm(range(n), desc="evaluate", disable=not progress, dynamic_ncols=True, leave=False):
        sample = samples[index]
        depth = estimator.predict(np.asarray(sample["image"])).depth
        depth = np.where(np.isfinite(depth), depth, protocol.min_depth)
        accumulator.add(
            depth,
            np.asarray(sample["depth"], np.float32),
            min_depth=protocol.min_depth,
            max_depth=protocol.max_depth,
            crop=protocol.crop,
        )
    result = accumulator.compute()
    if result["n_images"] == 0:
        raise ValueError(f"none of the {n} evaluated images has valid ground truth in the protocol range")
    return {**{k: float(result[k]) for k in METRIC_KEYS}, "n_images": int(result["n_images"])}


def format_table(metrics: dict[str, float], title: str = "") -> str:
    """The usual one-row results table (AbsRel ... d3)."""
    headers = [TABLE_HEADERS[k] for k in METRIC_KEYS]
    values = [f"{metrics[k]:.4f}" if k != "rmse" else f"{metrics[k]:.3f}" for k in METRIC_KEYS]
    widths = [max(len(h), len(v)) for h, v in zip(headers, values, strict=True)]
    line = lambda cells: " | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    rows = [line(headers), "-+-".join("-" * w for w in widths), line(values)]
    return "\n".join(([title] if title else []) + rows)
