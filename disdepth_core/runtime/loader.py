"""``load_estimator``: pick a backend by file type and availability, and say why (ARCHITECTURE.md).

=============  ==================  ==========================================================
file           backends            auto picks
=============  ==================  ==========================================================
.onnx          onnxruntime,        openvino on a CPU device when it is installed (see
               openvino,           :func:`auto_onnx_backend`), else onnxruntime (its
               tensorrt            TensorRT/CUDA providers when present); tensorrt builds or
                                   reuses a cached engine for this GPU
.onnx + card   onnxruntime         a foreign ONNX depth model with MODEL.teacher.json beside it
                                   (``backends.card_backend``; relative outputs need a scale source)
.engine/.plan  tensorrt            tensorrt
.safetensors   torch               torch (training stack needed)
=============  ==================  ==========================================================

Only the chosen backend's dependencies are imported: the ONNX path never imports torch. The runtime
does not build TensorRT engines itself: for an .onnx file on backend=tensorrt the caller passes an
``engine_builder`` (``disdepth_core.deployment.open_estimator`` passes the export package's builder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from disdepth_core.model_files import ModelFileError, require_file
from disdepth_core.runtime.backends.card_backend import card_backend_for
from disdepth_core.runtime.backends.registry import backend_kind, backend_names, backends_for_suffix
from disdepth_core.runtime.errors import PrecisionCheckError
from disdepth_core.runtime.estimator import DepthEstimator
from disdepth_core.runtime.image_ops import ResizeMode
from disdepth_core.runtime.options import RuntimeOptions
from disdepth_core.runtime.precision import AUTO, choose_precision
from disdepth_core.teacher_card import read_card_if_any

_PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".bin")


class EngineBuilder(Protocol):
    """Builds (or reuses a cached) TensorRT engine for an ONNX file and returns the engine's path."""

    def __call__(self, onnx_path: Path, precision: str, cache_dir: Path | None, device: str) -> Path: ...


def select_backend(path: Path, backend: str, device: str = "auto", precision: str = AUTO) -> tuple[str, str]:
    """Resolve ``backend`` ("auto" or a name) for ``path``; returns (backend, reason)."""
    suffix = path.suffix.lower()
    if suffix in _PICKLE_SUFFIXES:
        raise ModelFileError(path, "pickle-based checkpoints are never loaded (unsafe); use .safetensors")
    by_suffix = backends_for_suffix()
    allowed = by_suffix.get(suffix)
    if allowed is None:
        raise ModelFileError(
            path, f"unknown model file type {suffix!r}; expected one of {', '.join(by_suffix)}"
        )
    on_gpu_or_npu = device.startswith(("gpu", "npu"))  # OpenVINO devices that may run fp16
    if precision == "fp16" and suffix == ".onnx" and backend in ("auto", "onnxruntime") and not on_gpu_or_npu:
        _check_fp16_runs_here(path)
    if backend == "auto":
        if suffix == ".onnx":
            return auto_onnx_backend(device, precision)
        return allowed[0], f"backend=auto: {suffix} files run on {allowed[0]}"
    if backend not in allowed:
        raise ValueError(f"{path}: backend {backend!r} cannot load {suffix} files (use one of {allowed})")
    if precision != AUTO and precision not in backend_kind(backend).precisions:
        runs = [name for name in backend_names() if precision in backend_kind(name).precisions]
        raise ValueError(f"precision={precision} runs on backend={' or '.join(runs)} only, not {backend}")
    return backend, f"backend={backend} requested"


def _check_fp16_runs_here(path: Path) -> None:
    """fp16 on onnxruntime is its TensorRT provider; without one, say what this machine can run."""
    import importlib.util

    import onnxruntime

    from disdepth_core.onnx_sessions import TENSORRT

    providers = onnxruntime.get_available_providers()
    if TENSORRT in providers:
        return
    runs = ["precision=fp32 (onnxruntime, openvino)"]
    if importlib.util.find_spec("openvino") is not None:
        import openvino

        from disdepth_core.runtime.backends.openvino_backend import device_capabilities

        if "BF16" in device_capabilities(openvino.Core(), "CPU"):
            runs.append("precision=bf16 (openvino on this CPU)")
    runs.append("precision=int8 with a file from `disdepth export --precision int8`")
    raise ValueError(
        f"{path}: precision=fp16 runs on a GPU through TensorRT, which this machine does not have "
        f"(onnxruntime providers: {', '.join(providers)}); here use {'; '.join(runs)}"
    )


# --- OpenVINO in backend=auto (issue 15) -----------------------------------------------------------


def auto_onnx_backend(device: str, precision: str) -> tuple[str, str]:
    """``backend=auto`` for an .onnx file: openvino on a CPU device when installed, else onnxruntime.

    A CPU device is ``device=cpu``, or ``device=auto`` when onnxruntime has no GPU provider (with one,
    ``auto`` keeps onnxruntime's TensorRT/CUDA path); ``gpu``/``npu`` are OpenVINO devices. fp16 stays on
    onnxruntime (its TensorRT provider). Measured on CPU (benchmarks/runtime.py, docs/runtime.md): fp32
    on par or faster (0.9-2.4x onnxruntime), and only OpenVINO runs bf16 and int8 for every student.
    """
    import importlib.util

    has_openvino = importlib.util.find_spec("openvino") is not None
    if device.startswith(("gpu", "npu")) or precision == "bf16":
        why = f"device={device}" if device.startswith(("gpu", "npu")) else "precision=bf16"
        return "openvino", f"backend=auto: {why} runs on openvino"
    if precision == "fp16" or device.startswith("cuda"):
        return (
            "onnxruntime",
            f"backend=auto: {'precision=fp16' if precision == 'fp16' else device} -> onnxruntime",
        )
    if not has_openvino:
        return "onnxruntime", "backend=auto: .onnx on onnxruntime (openvino not installed)"
    if device == "auto":
        import onnxruntime

        from disdepth_core.onnx_sessions import GPU_PROVIDERS

        gpu = [p for p in onnxruntime.get_available_providers() if p in GPU_PROVIDERS]
        if gpu:
            return "onnxruntime", f"backend=auto: onnxruntime has GPU providers ({', '.join(gpu)})"
    return "openvino", "backend=auto: .onnx on a CPU device runs on openvino (installed)"


# ----------------------------------------------------------------------------------------------------


def _make_backend(
    path: Path,
    backend: str,
    device: str,
    precision: str,
    threads: int | None,
    cache_dir: Path | None,
    engine_builder: EngineBuilder | None,
) -> Any:
    """The registered ``backend`` on ``path``; TensorRT gets an .onnx file as the engine built from it."""
    if backend == "tensorrt" and path.suffix.lower() == ".onnx":
        if engine_builder is None:
            raise ValueError(
                f"{path}: backend=tensorrt on an .onnx file needs an engine builder; use "
                "disdepth_core.deployment.open_estimator or build one with `disdepth build-engine`"
            )
        path = engine_builder(path, precision, cache_dir, device)
    return backend_kind(backend).make(path, device, precision, threads)


def _auto_precision(
    path: Path,
    backend: str,
    device: str,
    threads: int | None,
    cache_dir: Path | None,
    engine_builder: EngineBuilder | None,
    input_hw: tuple[int, int] | None,
) -> tuple[Any, str]:
    """The backend ``precision=auto`` picks for ``backend`` and why (rules: ``runtime.precision``)."""

    def make(file: Path, precision: str) -> Any:
        return _make_backend(file, backend, device, precision, threads, cache_dir, engine_builder)

    if backend in ("openvino", "onnxruntime"):
        choice = choose_precision(path, backend, make, input_hw)
        return choice.backend, choice.reason
    if backend == "tensorrt" and path.suffix.lower() == ".onnx":
        try:
            return make(path, "fp16"), "precision=auto: fp16 (engine checked against ONNX Runtime when built)"
        except PrecisionCheckError as error:
            return make(path, "fp32"), f"precision=auto: fp32 (the fp16 engine was refused: {error})"
    runner = make(path, "fp32")
    if backend == "tensorrt":
        return runner, f"precision=auto: {runner.precision}, the precision the engine was built with"
    return runner, "precision=auto: fp32 (checkpoints run in fp32 unless asked for fp16 on CUDA)"


def load_estimator(
    path: str | Path,
    backend: str = "auto",
    device: str = "auto",
    precision: str = AUTO,
    threads: int | None = None,
    *,
    resize_mode: ResizeMode = "resize",
    input_hw: tuple[int, int] | None = None,
    engine_cache_dir: str | Path | None = None,
    engine_builder: EngineBuilder | None = None,
) -> DepthEstimator:
    """Load a model file (.onnx, .engine/.plan, .safetensors) into a :class:`DepthEstimator`.

    ``device`` is "auto", "cpu", "cuda", "cuda:N" (or OpenVINO's "gpu", "gpu.N", "npu"); ``precision``
    "auto" is the fastest this device runs within the accuracy bound of ``runtime.precision``;
    ``threads`` sets intra-op threads (onnxruntime, openvino) or torch's process-wide thread count;
    ``engine_cache_dir`` is where backend=tensorrt caches engines built from an .onnx file.
    ``estimator.describe()`` and ``estimator.selection_reason`` say what was chosen and why. The options
    are checked once, as :class:`RuntimeOptions`.
    """
    cache_dir = Path(engine_cache_dir) if engine_cache_dir is not None else None
    options = RuntimeOptions(backend, device, precision, threads, input_hw, resize_mode, cache_dir)
    return load_with_options(path, options, engine_builder)


def load_with_options(
    path: str | Path, options: RuntimeOptions, engine_builder: EngineBuilder | None = None
) -> DepthEstimator:
    """:func:`load_estimator` for options already checked (the file is checked here, once)."""
    path = require_file(path)
    runner, reason = _runner(path, options, engine_builder)
    estimator = DepthEstimator(runner, reason, resize_mode=options.resize_mode, input_hw=options.input_hw)
    _check_finite_output(estimator, path)
    return estimator


def _runner(path: Path, o: RuntimeOptions, engine_builder: EngineBuilder | None) -> tuple[Any, str]:
    """The backend for ``path`` with options ``o`` and the sentence saying why it was chosen: a card
    model's, else the selected backend at the asked (or auto-chosen) precision."""
    card = read_card_if_any(path) if path.suffix.lower() == ".onnx" else None
    if card is not None:
        runner = card_backend_for(path, card, o.backend, o.device, o.precision, o.threads)
        return runner, runner.reason
    name, reason = select_backend(path, o.backend, o.device, o.precision)
    cache_dir = o.engine_cache_dir
    if o.precision == AUTO:
        runner, why = _auto_precision(path, name, o.device, o.threads, cache_dir, engine_builder, o.input_hw)
        return runner, f"{reason}; {runner.reason}; {why}"
    runner = _make_backend(path, name, o.device, o.precision, o.threads, cache_dir, engine_builder)
    return runner, f"{reason}; {runner.reason}"


def _check_finite_output(estimator: DepthEstimator, path: Path) -> None:
    """Refuse a model whose depth is not finite on a plain image (the normalised mean colour): NaN or
    inf weights from a diverged run or a damaged file would otherwise publish 0 % valid depth forever.
    Doubles as the warm-up call (first-frame latency)."""
    height, width = estimator.input_hw
    depth, _ = estimator.backend.infer(np.zeros((1, 3, height, width), dtype=np.float32))
    finite = np.isfinite(depth)
    # an inverse-depth model may call a plain image infinitely far (no disparity: NaN); nothing else may
    if not (
        finite.all() or (estimator.info.output_kind == "relative_inverse_depth" and not np.isinf(depth).any())
    ):
        raise ModelFileError(
            path,
            "predicts non-finite depth on a plain grey image: its weights contain NaN or inf (a diverged "
            "training run or a damaged file); export it again from a good checkpoint",
        )
