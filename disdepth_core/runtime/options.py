"""How to run a model: the runtime options the node, eval-bag, the demo, `disdepth eval` and the
benchmarks all accept, so any deployed configuration can be evaluated offline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from disdepth_core.model_info import check_input_size
from disdepth_core.runtime.backends.registry import backend_names
from disdepth_core.runtime.image_ops import ResizeMode

__all__ = ["BACKENDS", "PRECISIONS", "RuntimeOptions"]

BACKENDS = ("auto", *backend_names())
PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")
"""auto: the fastest precision within a stated bound of fp32 (:mod:`~disdepth_core.runtime.precision`)."""
DEVICE_HELP = "auto, cpu, cuda or cuda:N (OpenVINO also: gpu, gpu.N, npu)"


def check_device(device: str) -> None:
    """Raise ValueError unless ``device`` is auto, cpu, cuda, cuda:N or an OpenVINO gpu, gpu.N, npu."""
    if device in ("auto", "cpu", "cuda", "gpu", "npu"):
        return
    for prefix in ("cuda:", "gpu."):
        if device.startswith(prefix) and device[len(prefix) :].isdigit():
            return
    raise ValueError(f"device must be {DEVICE_HELP}, got {device!r}")


@dataclass(frozen=True)
class RuntimeOptions:
    """Backend, device, precision ("auto": the fastest within the accuracy bound, see
    :mod:`~disdepth_core.runtime.precision`), CPU threads (None = the backend's default), network input size
    (None = the model's) and resize mode; ``engine_cache_dir`` is where TensorRT engines built from ONNX
    files are cached."""

    backend: str = "auto"
    device: str = "auto"
    precision: str = "auto"
    threads: int | None = None
    input_hw: tuple[int, int] | None = None
    resize_mode: ResizeMode = "resize"
    engine_cache_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.backend != "auto" and self.backend not in backend_names():  # registered after import too
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        check_device(self.device)
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 (or None for the backend's default), got {self.threads}")
        if self.input_hw is not None:
            check_input_size(*self.input_hw, "network input size")
