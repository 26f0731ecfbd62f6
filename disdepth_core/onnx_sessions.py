"""ONNX Runtime sessions: TensorRT EP > CUDA EP > CPU EP, whichever this onnxruntime build offers.

One opener for every ONNX Runtime user (the runtime's backends and the ONNX teacher), outside both
packages so that neither imports the other for it. Public onnxruntime API (``InferenceSession``,
``SessionOptions``); the TensorRT EP gets an engine cache directory next to the model so engines are not
rebuilt at every launch (minutes on a Jetson).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from disdepth_core.model_files import ModelFileError

__all__ = ["CPU", "CUDA", "GPU_PROVIDERS", "TENSORRT", "choose_providers", "open_session"]

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
GPU_PROVIDERS = (TENSORRT, CUDA)  # the providers that run on a local GPU (not e.g. Azure's)


def choose_providers(
    available: list[str], device: str, precision: str, model_path: Path
) -> tuple[list[Any], str]:
    """Pick execution providers (with options) for ``device`` ("auto", "cpu", "cuda", "cuda:N").

    Returns the provider list for ``InferenceSession`` and a sentence explaining the choice.
    """
    if device == "cpu":
        return [CPU], "device=cpu requested"
    device_id = int(device.split(":", 1)[1]) if device.startswith("cuda:") else 0
    gpu = [name for name in GPU_PROVIDERS if name in available]
    if not gpu:
        if device.startswith("cuda"):
            raise RuntimeError(
                f"device={device} requested but this onnxruntime build has no GPU provider "
                f"(available: {', '.join(available)}); install onnxruntime-gpu or use device=cpu"
            )
        return [CPU], f"no GPU provider in this onnxruntime build (available: {', '.join(available)})"
    providers: list[Any] = []
    if TENSORRT in gpu:
        cache = model_path.parent / ".ort_trt_cache"
        providers.append(
            (
                TENSORRT,
                {
                    "device_id": device_id,
                    "trt_fp16_enable": precision == "fp16",
                    "trt_engine_cache_enable": True,
                    "trt_engine_cache_path": str(cache),
                    "trt_timing_cache_enable": True,
                },
            )
        )
    if CUDA in gpu:
        providers.append((CUDA, {"device_id": device_id}))
    providers.append(CPU)
    return providers, f"GPU providers available ({', '.join(gpu)}), preferred over CPU"


def open_session(
    path: Path, device: str, precision: str = "fp32", threads: int | None = None
) -> tuple[Any, str]:
    """An ``InferenceSession`` on ``path`` with the providers for ``device`` (full graph optimisation,
    quiet logs, ``threads`` intra-op threads) and why those providers; ModelFileError for a bad file."""
    import onnxruntime as ort

    providers, reason = choose_providers(ort.get_available_providers(), device, precision, path)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if threads is not None:
        options.intra_op_num_threads = int(threads)
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers), reason
    except Exception as error:  # onnxruntime raises its own exception types for bad protobufs
        raise ModelFileError(path, f"not a valid ONNX model (corrupted or truncated?): {error}") from error
