"""What the depth node's `configure` transition loads from its read-only parameters: the model file
(`model_path`, else the shipped one), the estimator, the scale tracker and the per-frame pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from disdepth_core.deployment import open_estimator
from disdepth_core.runtime import DepthEstimator
from disdepth_core.runtime.options import RuntimeOptions
from disdepth_core.scale import ScaleTracker
from disdepth_ros.model_path import resolve_model_path
from disdepth_ros.params import output_settings, scale_tracker
from disdepth_ros.pipeline import FramePipeline

__all__ = ["LoadedModel", "load_model"]


@dataclass(frozen=True)
class LoadedModel:
    """A configured node's model file, estimator, scale tracker and the pipeline that uses them."""

    path: Path
    estimator: DepthEstimator
    tracker: ScaleTracker
    pipeline: FramePipeline


def load_model(values: Mapping[str, Any], runtime: RuntimeOptions) -> LoadedModel:
    """Load the model of parameter set `values` with its (already validated) `runtime` options.

    Raises OSError (no such model file), ModelFileError, ValueError (e.g. an empty effective depth
    range for this model) or RuntimeError (a backend that cannot run here), each with one line to show.
    """
    path = resolve_model_path(values["model_path"])
    estimator = open_estimator(path, runtime)
    tracker = scale_tracker(values, estimator.info)
    pipeline = FramePipeline(
        estimator,
        output_settings(values, estimator.info),
        compressed=bool(values["use_compressed"]),
        max_input_pixels=int(values["max_input_pixels"]),
        scale=tracker,
    )
    return LoadedModel(path, estimator, tracker, pipeline)
