"""Exported tiny models shared by the export/runtime/TensorRT tests (exported once per test process)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

_ROOT = Path(tempfile.mkdtemp(prefix="disdepth-runtime-tests-"))


@functools.cache
def exported(name: str, height: int = 64, width: int = 64, dynamic: bool = False) -> Path:
    """Export ``build_model(name)`` (seeded random weights) once and return the ONNX path."""
    import torch

    from disdepth_core.export.onnx_export import export_onnx
    from disdepth_core.models import build_model

    torch.manual_seed(0)
    model = build_model(name).eval()
    path = _ROOT / f"{name}-{height}x{width}{'-dyn' if dynamic else ''}.onnx"
    export_onnx(model, path, height, width, dynamic=dynamic, trained=False)
    return path


@functools.cache
def model(name: str):
    import torch

    from disdepth_core.models import build_model

    torch.manual_seed(0)
    return build_model(name).eval()
