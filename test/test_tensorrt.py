"""TensorRT builder, engine cache and backend against a fake ``tensorrt`` (10.x and 11.x APIs)."""

from __future__ import annotations

import fcntl
import json
import threading
from pathlib import Path

import numpy as np
import onnx
import pytest
from fake_tensorrt import HostMemory, make_fake_tensorrt
from runtime_fixtures import exported

from disdepth_core.export.engine_cache import file_lock
from disdepth_core.export.tensorrt_builder import EngineValidationError, build_engine, detect_api
from disdepth_core.model_files import ModelFileError
from disdepth_core.runtime.backends.tensorrt_backend import TensorRTBackend
from disdepth_core.runtime.engine_record import read_record, sidecar_path


@pytest.fixture(scope="module")
def onnx_path() -> Path:
    return exported("hu-lite")


def _build(onnx_path: Path, cache: Path, trt, precision: str = "fp16", memory=None, **kwargs):
    return build_engine(
        onnx_path, precision, cache_dir=cache, trt=trt, memory=memory or HostMemory(), **kwargs
    )


@pytest.mark.parametrize(
    ("version", "has_flags", "strongly_typed"),
    [("10.3.0", True, False), ("10.14.1", False, True), ("11.0.0", False, True), ("11.1.0", True, True)],
)
def test_api_generation_detection(version, has_flags, strongly_typed):
    assert detect_api(make_fake_tensorrt(version, has_flags)).strongly_typed is strongly_typed


def test_old_tensorrt_refused():
    with pytest.raises(RuntimeError, match="too old"):
        detect_api(make_fake_tensorrt("8.6.1", True))


def test_trt10_fp16_uses_builder_flag_and_fp32_graph(onnx_path: Path, tmp_path: Path):
    trt = make_fake_tensorrt("10.3.0", has_flags=True)
    result = _build(onnx_path, tmp_path, trt)
    build = next(c for c in trt.calls if isinstance(c, dict))
    assert build["network_flags"] == 0 and build["config_flags"] == ["FP16"]
    assert not any(t.data_type == onnx.TensorProto.FLOAT16 for t in trt.parsed[0].graph.initializer)
    assert result.built and result.abs_rel is not None and result.abs_rel < 1e-5
    key, info, _ = read_record(result.engine_path)
    assert (key.trt_version, key.gpu_name, key.compute_capability, key.precision) == (
        "10.3.0",
        "Fake GPU",
        "8.7",
        "fp16",
    )
    assert key.input_shape == "1x3x64x64" and info.name == "hu-lite"


def test_trt11_fp16_is_strongly_typed_fp16_graph(onnx_path: Path, tmp_path: Path):
    trt = make_fake_tensorrt("11.0.0", has_flags=False)
    result = _build(onnx_path, tmp_path, trt)
    build = next(c for c in trt.calls if isinstance(c, dict))
    assert build["network_flags"] == 1 << 5 and build["config_flags"] == []
    graph = trt.parsed[0].graph
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in graph.initializer)
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # outputs stay float32
    assert result.built and result.abs_rel < 0.02


def test_trt10_int8_uses_entropy_calibrator(onnx_path: Path, tmp_path: Path):
    trt = make_fake_tensorrt("10.3.0", has_flags=True)
    result = _build(onnx_path, tmp_path, trt, precision="int8", calib_count=3)
    build = next(c for c in trt.calls if isinstance(c, dict))
    assert build["config_flags"] == ["FP16", "INT8"] and build["calibrated"] == 3
    assert result.engine_path.with_suffix(".calib").read_bytes() == b"calib"


def test_trt11_int8_without_modelopt_is_a_clear_error(onnx_path: Path, tmp_path: Path):
    trt = make_fake_tensorrt("11.0.0", has_flags=False)
    with pytest.raises(RuntimeError, match="ModelOpt"):
        _build(onnx_path, tmp_path, trt, precision="int8", calib_count=2)


def test_cache_hit_then_rebuild_on_key_mismatch(onnx_path: Path, tmp_path: Path):
    trt = make_fake_tensorrt("10.3.0", has_flags=True)
    first = _build(onnx_path, tmp_path, trt)
    second = _build(onnx_path, tmp_path, trt)
    assert first.built and not second.built and "cache hit" in second.reason
    assert len([c for c in trt.calls if isinstance(c, dict)]) == 1
    assert ("timing_cache_loaded", 0) in trt.calls
    newer = make_fake_tensorrt("10.3.1", has_flags=True)
    third = _build(onnx_path, tmp_path, newer)
    assert third.built and "trt_version: 10.3.0 -> 10.3.1" in third.reason
    other_gpu = _build(onnx_path, tmp_path, newer, memory=HostMemory(("Orin", "8.7")))
    assert other_gpu.built and "gpu_name" in other_gpu.reason


def test_rebuild_when_cached_engine_does_not_deserialise(onnx_path: Path, tmp_path: Path):
    trt = make_fake_tensorrt("10.3.0", has_flags=True)
    engine = _build(onnx_path, tmp_path, trt).engine_path
    garbage = b"garbage engine"
    engine.write_bytes(garbage)
    record = json.loads(sidecar_path(engine).read_text())
    import hashlib

    record["engine_sha256"] = hashlib.sha256(garbage).hexdigest()
    sidecar_path(engine).write_text(json.dumps(record))
    again = _build(onnx_path, tmp_path, trt)
    assert again.built and "deserialise" in again.reason
    engine.write_bytes(engine.read_bytes()[:-10])  # truncated: hash mismatch
    assert "hash" in _build(onnx_path, tmp_path, trt).reason


def test_inaccurate_engine_is_refused_and_not_written(onnx_path: Path, tmp_path: Path):
    trt = make_fake_tensorrt("10.3.0", has_flags=True, depth_bias=1.0)
    with pytest.raises(EngineValidationError, match="refused"):
        _build(onnx_path, tmp_path, trt)
    assert not list(tmp_path.glob("*.engine")) and not list(tmp_path.glob("*.engine.json"))


def test_backend_loads_engine_and_rejects_stale_ones(onnx_path: Path, tmp_path: Path):
    trt = make_fake_tensorrt("10.3.0", has_flags=True)
    engine = _build(onnx_path, tmp_path, trt, precision="fp32").engine_path
    backend = TensorRTBackend.from_file(engine, memory=HostMemory(), trt=trt)
    batch = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    depth, uncertainty = backend.infer(batch)
    assert depth.shape == (1, 1, 64, 64) and uncertainty.shape == (1, 1, 64, 64)
    assert backend.fixed_input_hw == (64, 64) and "TensorRT 10.3.0" in backend.provider
    with pytest.raises(
        ModelFileError, match=r"engine was built for TensorRT 10\.3\.0 \(installed: 11\.0\.0\)"
    ):
        TensorRTBackend.from_file(engine, memory=HostMemory(), trt=make_fake_tensorrt("11.0.0", False))
    with pytest.raises(ModelFileError, match=r"GPU Fake GPU sm8\.7"):
        TensorRTBackend.from_file(engine, memory=HostMemory(("Orin", "8.7")), trt=trt)
    sidecar_path(engine).unlink()
    with pytest.raises(ModelFileError, match="no sidecar"):
        TensorRTBackend.from_file(engine, memory=HostMemory(), trt=trt)


def test_file_lock_is_exclusive(tmp_path: Path):
    engine = tmp_path / "m.engine"
    held, release = threading.Event(), threading.Event()

    def holder():
        with file_lock(engine):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    with open(tmp_path / "m.engine.lock", "a+b") as handle:
        with pytest.raises(BlockingIOError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        release.set()
        thread.join()
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_real_tensorrt_engine(onnx_path: Path, tmp_path: Path):
    try:
        import tensorrt  # noqa: F401
    except ImportError as error:
        pytest.skip(f"TensorRT not installed: {error}")
    result = build_engine(onnx_path, "fp16", cache_dir=tmp_path)
    assert result.built and result.abs_rel is not None
