"""OpenVINO backend: loads our exported ONNX files, matches ONNX Runtime fp32, honours the metadata,
dynamic sizes, bf16 with an fp32 graph tail, QDQ int8 files, and clear errors (missing package,
unsupported precision or device). Skips only where the ``openvino`` package is absent."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from runtime_fixtures import exported

from disdepth_core.runtime import ModelFileError, load_estimator
from disdepth_core.runtime.backends.openvino_backend import check_precision, choose_device
from disdepth_core.runtime.loader import select_backend

ov = pytest.importorskip("openvino", reason="openvino not installed")


def _image(hw: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*hw, 3), dtype=np.uint8)


def _capabilities() -> list[str]:
    return [str(c) for c in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")]


@pytest.mark.parametrize("name", ["hu-lite", "disdepth-mbv2"])
def test_fp32_matches_onnxruntime(name: str):
    path = exported(name)
    reference = load_estimator(path, backend="onnxruntime", device="cpu", threads=1)
    estimator = load_estimator(path, backend="openvino", precision="fp32", device="cpu", threads=1)
    assert estimator.backend.name == "openvino" and estimator.backend.precision == "fp32"
    assert "backend=openvino provider=CPU" in estimator.describe() and "OpenVINO" in estimator.describe()
    for seed in range(2):
        image = _image((48, 80), seed)
        expected, result = reference.predict(image), estimator.predict(image)
        np.testing.assert_array_equal(np.isnan(result.depth), np.isnan(expected.depth))
        assert np.nanmax(np.abs(result.depth - expected.depth)) < 1e-3
        assert np.nanmax(np.abs(result.uncertainty - expected.uncertainty)) < 1e-3


def test_metadata_is_honoured(tmp_path: Path):
    """Input size, normalisation, colour order, depth range and canonical focal come from the file."""
    from disdepth_core.export.onnx_export import write_metadata

    path = tmp_path / "meta.onnx"
    path.write_bytes(exported("hu-lite").read_bytes())
    base = load_estimator(path, backend="onnxruntime", threads=1).info
    info = replace(
        base, mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0), color_order="bgr", min_depth=2.0, max_depth=3.0
    )
    write_metadata(path, replace(info, canonical_focal_px=100.0))
    reference = load_estimator(path, backend="onnxruntime", threads=1)
    estimator = load_estimator(path, backend="openvino", precision="fp32", threads=1)
    assert estimator.info == reference.info and estimator.info.canonical_focal_px == 100.0
    assert estimator.input_hw == (64, 64) and estimator.backend.fixed_input_hw == (64, 64)
    image = _image((64, 128), 4)
    for fx in (None, 150.0):
        expected, result = reference.predict(image, fx=fx), estimator.predict(image, fx=fx)
        np.testing.assert_array_equal(np.isnan(result.depth), np.isnan(expected.depth))
        assert np.nanmax(np.abs(result.depth - expected.depth), initial=0.0) < 1e-3
    scaled = estimator.predict(image, fx=150.0).depth  # fx_in = 150 * 64 / 128 = 75 -> depth x 0.75
    low, high = 2.0 * 0.75, 3.0 * 0.75
    assert np.all(np.isnan(scaled) | ((scaled >= low - 1e-5) & (scaled <= high + 1e-5)))
    with pytest.raises(ValueError, match="static input 64x64"):
        load_estimator(path, backend="openvino", precision="fp32", threads=1, input_hw=(96, 128))


@pytest.mark.slow
def test_dynamic_sizes_match_onnxruntime():
    """One dynamic file (exported for multiples of 32) runs at several sizes; each shape is compiled once."""
    path = exported("hu-lite", dynamic=True)
    for hw in ((64, 96), (96, 128)):
        reference = load_estimator(path, backend="onnxruntime", threads=1, input_hw=hw)
        estimator = load_estimator(path, backend="openvino", precision="fp32", threads=1, input_hw=hw)
        assert estimator.backend.fixed_input_hw is None
        image = _image((96, 160), hw[0])
        expected, result = reference.predict(image), estimator.predict(image)
        assert result.depth.shape == (96, 160)
        assert np.nanmax(np.abs(result.depth - expected.depth)) < 1e-3
        estimator.predict(image)
        assert list(estimator.backend._compiled) == [(1, 3, *hw)]


def _head_precisions(compiled) -> set[str]:
    """Runtime precisions of the nodes between each output and the last convolution before it (Reorder
    nodes, which only convert layouts and types, excluded), from OpenVINO's runtime graph."""
    results = compiled.get_runtime_model().get_results()
    precisions, queue = set(), [result.input(0).get_source_output().get_node() for result in results]
    while queue:
        node = queue.pop()
        info = node.get_rt_info()
        kind = info["layerType"].astype(str)
        if kind in ("Convolution", "Input"):
            continue
        if kind != "Reorder":
            precisions.add(info["runtimePrecision"].astype(str))
        queue.extend(source.get_source_output().get_node() for source in node.inputs()[:1])
    return precisions


def test_bf16_runs_the_bins_head_in_fp32_in_one_graph():
    """The trailing resize runs on the host, so OpenVINO's own graph-tail rule keeps the bins head fp32;
    compiling the file as it is (OpenVINO's own API) runs that head in bf16."""
    path = exported("disdepth-mbv2")
    if "BF16" not in _capabilities():
        with pytest.raises(ValueError, match="precision=bf16 is not supported by OpenVINO device CPU"):
            load_estimator(path, backend="openvino", precision="bf16", threads=1)
        return
    fp32 = load_estimator(path, backend="openvino", precision="fp32", threads=1)
    bf16 = load_estimator(path, backend="openvino", precision="bf16", threads=1)
    assert bf16.backend.precision == "bf16" and "bins head in fp32" in bf16.describe()
    (request,) = bf16.backend._compiled.values()
    assert _head_precisions(request.request.get_compiled_model()) == {"f32"}
    plain = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "bf16"})
    assert "bf16" in _head_precisions(plain)
    image = _image((64, 64), 7)
    reference, result = fp32.predict(image).depth, bf16.predict(image).depth
    assert np.nanmean(np.abs(result - reference) / reference) < 0.01


def test_trailing_resize_runs_on_the_host_exactly():
    """Outputs match OpenVINO running the whole file (fp32), and only an exactly reproducible resize
    leaves the graph."""
    from disdepth_core.runtime.backends.openvino_tail import detach_trailing_resizes

    path = exported("hu-lite", 64, 96)
    model = ov.Core().read_model(str(path))
    graph, sizes = detach_trailing_resizes(model)
    assert sizes == {"depth": (64, 96), "uncertainty": (64, 96)}
    assert [tuple(o.get_shape()) for o in graph.outputs] == [(1, 1, 32, 48)] * 2
    assert [tuple(o.get_shape()) for o in model.outputs] == [(1, 1, 64, 96)] * 2  # the input is untouched
    whole = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"}).create_infer_request()
    backend = load_estimator(path, backend="openvino", precision="fp32", threads=1).backend
    batch = np.random.default_rng(3).standard_normal((1, 3, 64, 96)).astype(np.float32)
    expected = whole.infer({0: batch})
    depth, uncertainty = backend.infer(batch)
    assert np.abs(depth - expected["depth"]).max() < 1e-5
    assert np.abs(uncertainty - expected["uncertainty"]).max() < 1e-5
    assert depth is not backend.infer(batch)[0]  # each call returns arrays the caller owns
    interpolate = next(op for op in model.get_ordered_ops() if op.get_type_name() == "Interpolate")
    aligned = ov.opset11.interpolate(
        interpolate.input_value(0), interpolate.input_value(1), "linear_onnx", "sizes",
        coordinate_transformation_mode="align_corners", axes=None,
    )  # fmt: skip
    kept = ov.Model([ov.opset13.result(aligned)], model.get_parameters())
    assert detach_trailing_resizes(kept)[1] == {}


@pytest.mark.parametrize("transpose_b", [False, True])
def test_vector_products_unfold_exactly(transpose_b: bool):
    """A B x C by C x K (or K x C) MatMul becomes Multiply + ReduceSum with the same result in fp32;
    products of higher rank (LG-Conv's pooling matrices) stay MatMuls."""
    from openvino import opset13 as ops

    from disdepth_core.runtime.backends.openvino_tail import unfold_vector_products

    rng = np.random.default_rng(5)
    weights = rng.standard_normal((7, 5) if transpose_b else (5, 7)).astype(np.float32)
    vector = ops.parameter([2, 5], np.float32, name="x")
    grid = ops.parameter([1, 3, 4, 5], np.float32, name="g")
    product = ops.matmul(vector, ops.constant(weights), False, transpose_b)
    pooled = ops.matmul(grid, ops.constant(rng.standard_normal((5, 2)).astype(np.float32)), False, False)
    model = ov.Model([ops.result(product), ops.result(pooled)], [vector, grid])
    inputs = [
        rng.standard_normal((2, 5)).astype(np.float32),
        rng.standard_normal((1, 3, 4, 5)).astype(np.float32),
    ]
    config = {"INFERENCE_PRECISION_HINT": "f32"}
    expected = ov.Core().compile_model(model, "CPU", config).create_infer_request().infer(inputs)
    unfolded = model.clone()
    assert unfold_vector_products(unfolded) == 1
    types = [op.get_type_name() for op in unfolded.get_ordered_ops()]
    assert types.count("MatMul") == 1 and "ReduceSum" in types
    result = ov.Core().compile_model(unfolded, "CPU", config).create_infer_request().infer(inputs)
    for index in range(2):
        np.testing.assert_allclose(result[index], expected[index], rtol=1e-5, atol=1e-5)


def test_int8_file_runs_and_agrees_with_fp32(tmp_path: Path):
    from disdepth_core.export.calibration import calibration_images, model_batches
    from disdepth_core.export.ort_quantize import quantize_int8

    fp32 = load_estimator(exported("hu-lite"), backend="openvino", precision="fp32", threads=1)
    batches = model_batches(calibration_images(None, size_hw=(64, 64)), fp32.info, 6)
    path = quantize_int8(exported("hu-lite"), tmp_path / "int8.onnx", fp32.info, batches, backend="openvino")
    int8 = load_estimator(path, backend="openvino", precision="int8", threads=1)
    assert int8.backend.precision == "int8" and "quantised file" in int8.describe()
    assert load_estimator(path, backend="openvino", threads=1).backend.precision == "int8"  # the file's own
    image = _image((64, 64), 9)
    reference, result = fp32.predict(image).depth, int8.predict(image).depth
    assert np.nanmean(np.abs(result - reference) / reference) < 0.05
    with pytest.raises(ValueError, match="int8 file made for openvino"):
        load_estimator(path, backend="onnxruntime", precision="int8", threads=1)


def test_unsupported_precisions_are_refused():
    path = exported("hu-lite")
    with pytest.raises(ValueError, match="make an int8 model"):
        load_estimator(path, backend="openvino", precision="int8", threads=1)
    with pytest.raises(ValueError, match="precision=bf16 runs on backend=openvino only"):
        load_estimator(path, backend="onnxruntime", precision="bf16", threads=1)
    info = load_estimator(path, backend="openvino", threads=1).info
    with pytest.raises(
        ValueError, match=r"precision=bf16 is not supported by OpenVINO device CPU \(it reports"
    ):
        check_precision("bf16", ["FP32", "INT8"], "CPU", info, path)
    assert check_precision("bf16", ["FP32", "BF16"], "CPU", info, path) == "bf16"
    if "FP16" not in _capabilities():
        with pytest.raises(ValueError, match="precision=fp16 is not supported"):
            load_estimator(path, backend="openvino", precision="fp16", threads=1)


def test_devices():
    assert choose_device(["CPU"], "auto") == ("CPU", "device=auto: CPU")
    device, reason = choose_device(["CPU", "GPU.0", "NPU"], "auto")
    assert device == "CPU" and "also available: GPU.0, NPU" in reason
    assert choose_device(["CPU", "GPU.0"], "gpu")[0] == "GPU"
    assert choose_device(["CPU", "GPU.0"], "gpu.0")[0] == "GPU.0"
    with pytest.raises(RuntimeError, match="device=npu requested but OpenVINO reports only CPU"):
        choose_device(["CPU"], "npu")
    with pytest.raises(ValueError, match="OpenVINO does not run on CUDA"):
        choose_device(["CPU"], "cuda:0")


def test_broken_files_name_the_file(tmp_path: Path):
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(exported("hu-lite").read_bytes()[:5000])
    with pytest.raises(ModelFileError, match=r"truncated\.onnx: not a valid ONNX model"):
        load_estimator(truncated, backend="openvino")


def test_auto_selection(monkeypatch: pytest.MonkeyPatch):
    import importlib.util

    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    name, reason = select_backend(Path("m.onnx"), "auto")
    assert name == "openvino" and "CPU device runs on openvino" in reason
    for backend in ("auto", "onnxruntime"):  # fp16 is TensorRT's: say what this machine runs instead
        with pytest.raises(ValueError, match="fp16 runs on a GPU through TensorRT") as refused:
            select_backend(Path("m.onnx"), backend, precision="fp16")
        assert "precision=fp32" in str(refused.value) and "backend=tensorrt" not in str(refused.value)
    assert select_backend(Path("m.onnx"), "auto", device="cuda")[0] == "onnxruntime"
    assert select_backend(Path("m.onnx"), "auto", device="gpu")[0] == "openvino"
    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    assert select_backend(Path("m.onnx"), "auto")[0] == "onnxruntime"
    assert select_backend(Path("m.onnx"), "auto", device="cpu")[0] == "openvino"
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["TensorrtExecutionProvider"])
    assert select_backend(Path("m.onnx"), "auto", precision="fp16")[0] == "onnxruntime"
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "openvino" else real_find_spec(n, *a)
    )
    name, reason = select_backend(Path("m.onnx"), "auto", device="cpu")
    assert name == "onnxruntime" and "openvino not installed" in reason


def test_missing_package_is_one_clear_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # makes `import openvino` raise ImportError
    with pytest.raises(ImportError) as caught:
        load_estimator(exported("hu-lite"), backend="openvino")
    message = str(caught.value)
    assert "\n" not in message and "pip install openvino==" in message and "backend=onnxruntime" in message
