"""precision=auto: the fastest precision within the stated bound of fp32, on real ONNX Runtime / OpenVINO
sessions of tiny exported models (TensorRT through the fake module); an explicit precision still wins."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pytest
from runtime_fixtures import exported

from disdepth_core.cli.runtime_args import add_runtime_arguments, runtime_options
from disdepth_core.runtime import load_estimator
from disdepth_core.runtime.options import RuntimeOptions
from disdepth_core.runtime.precision import AUTO_TOLERANCE, int8_sibling


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (48, 80, 3), dtype=np.uint8)


def _model_with_int8_sibling(tmp_path: Path, int8_backend: str) -> Path:
    """hu-lite exported to tmp_path with its int8 export (calibrated on procedural rooms) beside it."""
    from disdepth_core.export.calibration import calibration_images, model_batches
    from disdepth_core.export.ort_quantize import quantize_int8

    path = tmp_path / "hu.onnx"
    shutil.copy(exported("hu-lite"), path)
    info = load_estimator(path, backend="onnxruntime", precision="fp32", threads=1).info
    batches = model_batches(calibration_images(None, size_hw=(64, 64)), info, 6)
    quantize_int8(path, int8_sibling(path), info, batches, backend=int8_backend)
    return path


def test_auto_is_the_default_of_every_command_and_the_node():
    from disdepth_ros.params import PARAMETERS
    from disdepth_ros.params import runtime_options as node_runtime_options

    parser = argparse.ArgumentParser()
    add_runtime_arguments(parser)
    assert runtime_options(parser.parse_args([])).precision == "auto"
    assert RuntimeOptions().precision == "auto"
    defaults = {name: spec.default for name, spec in PARAMETERS.items()}
    assert node_runtime_options(defaults).precision == "auto"


def test_openvino_auto_takes_bf16_within_the_bound_and_says_why():
    ov = pytest.importorskip("openvino", reason="openvino not installed")
    path = exported("disdepth-mbv2")
    auto = load_estimator(path, backend="openvino", threads=1)
    fp32 = load_estimator(path, backend="openvino", precision="fp32", threads=1)
    assert fp32.backend.precision == "fp32" and "precision=auto" not in fp32.describe()  # explicit wins
    capabilities = [str(c) for c in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")]
    if "BF16" not in capabilities:
        assert auto.backend.precision == "fp32"
        assert "precision=auto: fp32 (bf16: precision=bf16 is not supported" in auto.describe()
        return
    assert auto.backend.precision == "bf16"
    assert "precision=auto: bf16 (bf16: depth " in auto.describe()
    assert "from fp32 on 4 check images, within the 1% bound)" in auto.describe()
    reference, result = fp32.predict(_image()).depth, auto.predict(_image()).depth
    assert np.nanmean(np.abs(result - reference) / reference) < AUTO_TOLERANCE


def test_onnxruntime_auto_takes_an_int8_file_beside_the_model(tmp_path: Path):
    path = _model_with_int8_sibling(tmp_path, "onnxruntime")
    auto = load_estimator(path, backend="onnxruntime", threads=1)
    assert auto.backend.precision == "int8" and auto.backend.path == int8_sibling(path)
    assert (
        "precision=auto: int8 (int8: depth " in auto.describe() and "within the 1% bound" in auto.describe()
    )
    fp32 = load_estimator(path, backend="onnxruntime", precision="fp32", threads=1)
    assert fp32.backend.precision == "fp32" and fp32.backend.path == path
    reference, result = fp32.predict(_image(1)).depth, auto.predict(_image(1)).depth
    assert np.nanmean(np.abs(result - reference) / reference) < AUTO_TOLERANCE


def test_auto_refuses_an_int8_file_that_is_not_this_model(tmp_path: Path):
    """A stale int8 export beside the model (the model was retrained for 0.1-80 m and re-exported, its
    int8 file was not) fails the check: fp32 runs."""
    import torch

    from disdepth_core.export.onnx_export import export_onnx
    from disdepth_core.models import build_model

    path = _model_with_int8_sibling(tmp_path, "onnxruntime")
    torch.manual_seed(0)
    export_onnx(build_model("hu-lite", max_depth=80.0).eval(), path, 64, 64, trained=False)
    auto = load_estimator(path, backend="onnxruntime", threads=1)
    assert auto.backend.precision == "fp32" and auto.backend.path == path
    assert "precision=auto: fp32 (int8: depth " in auto.describe() and "over the 1% bound" in auto.describe()


def test_auto_skips_an_int8_file_made_for_another_runtime_and_runs_an_int8_file_as_int8(tmp_path: Path):
    path = _model_with_int8_sibling(tmp_path, "openvino")
    auto = load_estimator(path, backend="onnxruntime", threads=1)
    assert auto.backend.precision == "fp32"
    assert "precision=auto: fp32 (int8: " in auto.describe() and "made for openvino" in auto.describe()
    own = load_estimator(int8_sibling(path), backend="openvino", threads=1)
    assert own.backend.precision == "int8" and "precision=auto: the file is int8" in own.describe()
    without = load_estimator(exported("hu-lite"), backend="onnxruntime", threads=1)
    assert "precision=auto: fp32 (int8: no hu-lite-64x64.int8.onnx beside the model)" in without.describe()


def test_torch_and_card_models_run_fp32_under_auto(tmp_path: Path):
    from runtime_fixtures import foreign_onnx, model

    from disdepth_core.models.checkpoint import save_model

    checkpoint = save_model(
        tmp_path / "hu.safetensors", model("hu-lite"), {"input_height": 64, "input_width": 64}
    )
    torch_estimator = load_estimator(checkpoint, device="cpu")
    assert (
        torch_estimator.backend.precision == "fp32" and "precision=auto: fp32" in torch_estimator.describe()
    )
    card = load_estimator(foreign_onnx(tmp_path / "mean.onnx", 32, 48), threads=1)
    assert card.backend.precision == "fp32"


@pytest.mark.parametrize("fp16_refused", [False, True])
def test_tensorrt_auto_builds_a_checked_fp16_engine_else_fp32(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fp16_refused: bool
):
    """Fake TensorRT 10.3: auto asks the engine builder for fp16; an fp16 engine that disagrees with ONNX
    Runtime (as on some JetPack versions) is refused by the builder and an fp32 engine runs instead."""
    from fake_tensorrt import HostMemory, make_fake_tensorrt

    from disdepth_core.export.tensorrt_builder import build_engine
    from disdepth_core.runtime.backends import tensorrt_backend

    trt = make_fake_tensorrt("10.3.0", has_flags=True)
    monkeypatch.setattr(tensorrt_backend, "import_tensorrt", lambda: trt)
    monkeypatch.setattr(tensorrt_backend, "default_device_memory", lambda device: HostMemory())
    asked = []

    def builder(onnx_path: Path, precision: str, cache_dir: Path | None, device: str) -> Path:
        asked.append(precision)
        bias = 1.0 if fp16_refused and precision == "fp16" else 0.0
        fake = make_fake_tensorrt("10.3.0", has_flags=True, depth_bias=bias)
        return build_engine(
            onnx_path, precision, cache_dir=tmp_path, trt=fake, memory=HostMemory()
        ).engine_path

    estimator = load_estimator(exported("hu-lite"), backend="tensorrt", engine_builder=builder)
    if fp16_refused:
        assert asked == ["fp16", "fp32"] and estimator.backend.precision == "fp32"
        assert "precision=auto: fp32 (the fp16 engine was refused: " in estimator.describe()
    else:
        assert asked == ["fp16"] and estimator.backend.precision == "fp16"
        assert "precision=auto: fp16 (engine checked against ONNX Runtime when built)" in estimator.describe()
    engine = next(tmp_path.glob(f"*.{estimator.backend.precision}.*.engine"))
    from_engine = load_estimator(engine)
    assert from_engine.backend.precision == estimator.backend.precision
    assert "the precision the engine was built with" in from_engine.describe()
