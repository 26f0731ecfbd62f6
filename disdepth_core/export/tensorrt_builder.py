"""Build, validate and cache TensorRT engines from disdepth ONNX models, for TensorRT 10.x and 11.x.

TensorRT 10 (JetPack 6 ships 10.3): a weakly typed network; fp16/int8 are requested with
``BuilderFlag.FP16``/``BuilderFlag.INT8`` and int8 scales come from an ``IInt8EntropyCalibrator2``.
TensorRT 11 removed those flags and calibrators: the network is created with
``NetworkDefinitionCreationFlag.STRONGLY_TYPED`` and precision comes from the ONNX graph itself (an fp16
conversion, or Q/DQ nodes from NVIDIA ModelOpt for int8). Requests made the 10.x way are silently
ignored by 11, so the generation is detected from ``tensorrt.__version__`` *and*
the presence of the old flags. Every new engine is compared with ONNX Runtime (CPU, fp32) and refused
if its depth AbsRel exceeds the precision's tolerance (fp16 engines have given wrong depth on some
JetPack versions); engines are cached by
:mod:`disdepth_core.export.engine_cache`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from disdepth_core.export.calibration import calibration_images, model_batches
from disdepth_core.export.engine_cache import CacheResult, get_or_build
from disdepth_core.files import atomic_write_bytes, sha256_file
from disdepth_core.model_files import ModelFileError, require_file
from disdepth_core.model_info import DEPTH_OUTPUT, INPUT_NAME, ModelInfo
from disdepth_core.runtime.backends.tensorrt_backend import TensorRTBackend, import_tensorrt
from disdepth_core.runtime.cuda_memory import DeviceMemory, default_device_memory
from disdepth_core.runtime.engine_record import EngineKey
from disdepth_core.runtime.errors import PrecisionCheckError

DEFAULT_TOLERANCE = {"fp32": 0.005, "fp16": 0.02, "int8": 0.08}
"""Largest accepted mean |engine - onnxruntime| / onnxruntime depth (AbsRel) per precision. fp32 allows
for TF32, which TensorRT enables by default on Ampere and newer GPUs."""
WORKSPACE_BYTES = 1 << 30


class EngineValidationError(PrecisionCheckError):
    """A freshly built engine disagrees with ONNX Runtime beyond the tolerance; it was not kept."""


@dataclass(frozen=True)
class TrtApi:
    """Which TensorRT API generation to use: ``strongly_typed`` for 11.x (or a 10.x without the flags)."""

    version: str
    major: int
    strongly_typed: bool

    def describe(self) -> str:
        how = (
            "strongly typed network, precision from the ONNX graph"
            if self.strongly_typed
            else "builder flags"
        )
        return f"TensorRT {self.version}: {how}"


def detect_api(trt: ModuleType) -> TrtApi:
    """Detect the API generation from ``trt.__version__`` and whether ``BuilderFlag.FP16/INT8`` exist."""
    version = str(trt.__version__)
    major = int(version.split(".")[0])
    if major < 10:
        raise RuntimeError(f"TensorRT {version} is too old; disdepth supports TensorRT 10.x and 11.x")
    has_flags = hasattr(trt.BuilderFlag, "FP16") and hasattr(trt.BuilderFlag, "INT8")
    return TrtApi(version, major, strongly_typed=major >= 11 or not has_flags)


@dataclass(frozen=True)
class BuildResult:
    """The engine to use, whether it was built now, why, and its measured AbsRel vs ONNX Runtime."""

    engine_path: Path
    built: bool
    reason: str
    api: TrtApi
    abs_rel: float | None


def default_cache_dir() -> Path:
    """``$DISDEPTH_ENGINE_CACHE``, else ``$XDG_CACHE_HOME/disdepth/engines`` (``~/.cache/...``)."""
    if os.environ.get("DISDEPTH_ENGINE_CACHE"):
        return Path(os.environ["DISDEPTH_ENGINE_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "disdepth" / "engines"


def _read_onnx(path: Path) -> tuple[ModelInfo, tuple[Any, ...]]:
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:
        raise ModelFileError(path, f"not a valid ONNX model: {error}") from error
    info = ModelInfo.from_props(session.get_modelmeta().custom_metadata_map, path)
    return info, tuple(session.get_inputs()[0].shape)


def shape_profile(info: ModelInfo, onnx_shape: tuple[Any, ...]) -> tuple[tuple[int, ...], ...]:
    """(min, opt, max) input shapes: all equal for a static model; H/W from half to twice for dynamic."""
    opt = (1, 3, info.input_height, info.input_width)
    if all(isinstance(d, int) for d in onnx_shape):
        return (opt, opt, opt)
    low = (1, 3, max(32, info.input_height // 64 * 32), max(32, info.input_width // 64 * 32))
    return (low, opt, (1, 3, info.input_height * 2, info.input_width * 2))


def _shape_text(profile: tuple[tuple[int, ...], ...]) -> str:
    texts = ["x".join(map(str, shape)) for shape in profile]
    return texts[0] if len(set(texts)) == 1 else "dynamic " + ":".join(texts)


def _modelopt_int8(onnx_path: Path, batches: list[np.ndarray]) -> bytes:
    try:
        from modelopt.onnx.quantization import quantize
    except ImportError as error:
        raise RuntimeError(
            "int8 with TensorRT >= 11 needs Q/DQ nodes from NVIDIA ModelOpt "
            "(pip install 'nvidia-modelopt[onnx]'), or use --precision fp16"
        ) from error
    with tempfile.TemporaryDirectory(prefix="disdepth-modelopt-") as tmp:
        output = Path(tmp) / "int8.onnx"
        quantize(
            onnx_path=str(onnx_path),
            quantize_mode="int8",
            calibration_data={INPUT_NAME: np.concatenate(batches)},
            calibration_method="entropy",
            output_path=str(output),
        )
        return output.read_bytes()


def network_onnx(onnx_path: Path, precision: str, api: TrtApi, batches: list[np.ndarray]) -> bytes:
    """The ONNX bytes to parse: unchanged for 10.x and fp32; fp16-converted or Q/DQ for strongly typed."""
    if not api.strongly_typed or precision == "fp32":
        return onnx_path.read_bytes()
    if precision == "fp16":
        import onnx

        from disdepth_core.export.onnx_fp16 import convert_to_fp16

        return convert_to_fp16(onnx.load(str(onnx_path))).SerializeToString()
    return _modelopt_int8(onnx_path, batches)


def make_entropy_calibrator(
    trt: ModuleType, batches: list[np.ndarray], memory: DeviceMemory, cache_path: Path
) -> Any:
    """An ``IInt8EntropyCalibrator2`` (TensorRT 10.x) feeding ``batches`` through one device buffer."""

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self._batches = iter(batches)
            self._buffer = memory.empty(batches[0].shape, np.dtype(np.float32))

        def get_batch_size(self) -> int:
            return int(batches[0].shape[0])

        def get_batch(self, names: list[str]) -> list[int] | None:
            batch = next(self._batches, None)
            if batch is None:
                return None
            self._buffer.upload(batch)
            return [self._buffer.ptr]

        def read_calibration_cache(self) -> bytes | None:
            return cache_path.read_bytes() if cache_path.is_file() else None

        def write_calibration_cache(self, cache: Any) -> None:
            atomic_write_bytes(cache_path, bytes(cache))

    return EntropyCalibrator()


def build_serialized(
    trt: ModuleType,
    api: TrtApi,
    onnx_bytes: bytes,
    precision: str,
    profile: tuple[tuple[int, ...], ...],
    timing_cache: Path,
    calibrator: Any = None,
    workspace_bytes: int = WORKSPACE_BYTES,
) -> bytes:
    """Parse ``onnx_bytes`` and build a serialized engine with the API of ``api``'s generation."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if api.strongly_typed else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_bytes):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse the ONNX model: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    cache = config.create_timing_cache(timing_cache.read_bytes() if timing_cache.is_file() else b"")
    config.set_timing_cache(cache, False)
    if not api.strongly_typed and precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)  # int8 layers without scales fall back to fp16
    optimization = builder.create_optimization_profile()
    optimization.set_shape(network.get_input(0).name, *profile)
    config.add_optimization_profile(optimization)
    if not api.strongly_typed and precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = calibrator
        config.set_calibration_profile(optimization)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build the {precision} engine (see the TensorRT log above)")
    atomic_write_bytes(timing_cache, bytes(config.get_timing_cache().serialize()))
    return bytes(serialized)


def engine_abs_rel(engine: TensorRTBackend, onnx_path: Path, batches: list[np.ndarray]) -> float:
    """Mean AbsRel of the engine's depth against ONNX Runtime CPU fp32; inf if any value is non-finite."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    errors = []
    for batch in batches:
        reference = session.run([DEPTH_OUTPUT], {INPUT_NAME: batch})[0]
        depth, _ = engine.infer(batch)
        if not np.isfinite(depth).all():
            return float("inf")
        errors.append(np.abs(depth - reference) / np.maximum(np.abs(reference), 1e-6))
    return float(np.mean(np.concatenate([e.ravel() for e in errors])))


def build_engine(
    onnx_path: str | Path,
    precision: str = "fp16",
    *,
    cache_dir: str | Path | None = None,
    output: str | Path | None = None,
    calib: str | Path | None = None,
    calib_topic: str | None = None,
    calib_count: int = 64,
    tolerance: float | None = None,
    force: bool = False,
    device: str = "auto",
    trt: ModuleType | None = None,
    memory: DeviceMemory | None = None,
) -> BuildResult:
    """Return a validated engine for ``onnx_path`` at ``precision``, from the cache or freshly built.

    The engine goes to ``output`` or to ``cache_dir`` (default :func:`default_cache_dir`) as
    ``<onnx stem>.<precision>.<shape>.engine`` with a ``.json`` sidecar holding its :class:`EngineKey`.
    ``calib`` (image folder or rosbag + ``calib_topic``) feeds int8 calibration and the accuracy check;
    without it synthetic scenes are used.
    """
    if precision not in DEFAULT_TOLERANCE:
        raise ValueError(f"precision must be one of {sorted(DEFAULT_TOLERANCE)}, got {precision!r}")
    onnx_path = require_file(onnx_path)
    trt = trt or import_tensorrt()
    api = detect_api(trt)
    memory = memory or default_device_memory(device)
    info, onnx_shape = _read_onnx(onnx_path)
    profile = shape_profile(info, onnx_shape)
    gpu_name, capability = memory.gpu_identity()
    key = EngineKey(
        sha256_file(onnx_path), api.version, gpu_name, capability, precision, _shape_text(profile)
    )
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    tag = f"{info.input_height}x{info.input_width}" + ("-dynamic" if profile[0] != profile[2] else "")
    engine_path = Path(output) if output is not None else cache / f"{onnx_path.stem}.{precision}.{tag}.engine"
    limit = tolerance if tolerance is not None else DEFAULT_TOLERANCE[precision]
    images = calibration_images(calib, calib_topic, (info.input_height, info.input_width))
    batches = model_batches(images, info, calib_count if precision == "int8" else 4)
    check_batches = batches[:4]
    measured: list[float] = []

    def build() -> bytes:
        calibrator = None
        if precision == "int8" and not api.strongly_typed:
            calibrator = make_entropy_calibrator(trt, batches, memory, engine_path.with_suffix(".calib"))
        timing = cache / f"timing-{api.version}-{gpu_name.replace(' ', '_')}-sm{capability}.cache"
        return build_serialized(
            trt, api, network_onnx(onnx_path, precision, api, batches), precision, profile, timing, calibrator
        )

    def validate(data: bytes) -> None:
        engine = TensorRTBackend(data, info, precision, memory, trt, engine_path)
        abs_rel = engine_abs_rel(engine, onnx_path, check_batches)
        measured.append(abs_rel)
        if not abs_rel <= limit:
            raise EngineValidationError(
                f"{engine_path}: {precision} engine depth differs from ONNX Runtime by AbsRel {abs_rel:.4g} "
                f"(tolerance {limit:g}); the engine was refused and not written"
            )

    def deserializes(data: bytes) -> bool:
        try:
            return trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(data) is not None
        except Exception:
            return False

    result: CacheResult = get_or_build(engine_path, key, info, build, validate, deserializes, force=force)
    return BuildResult(
        result.engine_path, result.built, result.reason, api, measured[0] if measured else None
    )
