"""Open a model file the way a deployment runs it: the runtime, plus the export package's TensorRT engine
builder for .onnx files on backend=tensorrt (the one place that connects the two; the runtime itself
never imports export). The node, eval-bag, the demo, `disdepth eval` and the benchmarks open models here.
"""

from __future__ import annotations

from pathlib import Path

from disdepth_core.runtime import DepthEstimator
from disdepth_core.runtime.loader import load_with_options
from disdepth_core.runtime.options import RuntimeOptions

__all__ = ["open_estimator"]


def _build_engine(onnx_path: Path, precision: str, cache_dir: Path | None, device: str) -> Path:
    from disdepth_core.export.tensorrt_builder import build_engine

    return build_engine(onnx_path, precision=precision, cache_dir=cache_dir, device=device).engine_path


def open_estimator(path: str | Path, options: RuntimeOptions | None = None) -> DepthEstimator:
    """Load ``path`` (.onnx, .engine/.plan, .safetensors) with ``options`` into a DepthEstimator."""
    return load_with_options(path, options or RuntimeOptions(), _build_engine)
