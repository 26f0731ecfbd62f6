"""ONNX export: every student round-trips export -> load_estimator -> predict within 1e-3 m of PyTorch;
metadata, single-file output, dynamic shapes, the ORT int8 path and the CLI."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from runtime_fixtures import exported, model

from disdepth_core.export.calibration import calibration_images, model_batches
from disdepth_core.export.ort_quantize import compare_depth, quantize_int8
from disdepth_core.models import build_model, list_models
from disdepth_core.runtime import load_estimator
from disdepth_core.runtime.image_ops import ResizePlan, invalidate, preprocess

STUDENTS = [name for name in list_models() if not name.startswith("teacher")]


@pytest.mark.slow
@pytest.mark.parametrize("name", STUDENTS)
def test_every_student_round_trips(name: str):
    path = exported(name)
    estimator = load_estimator(path, device="cpu", threads=1)
    image = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    result = estimator.predict(image)
    info = estimator.info
    batch = preprocess(image, ResizePlan.create((64, 64), (64, 64), "resize"), info.mean, info.std)
    with torch.inference_mode():
        reference = model(name)(torch.from_numpy(batch)).depth[0, 0].numpy().copy()
    expected = invalidate(reference, info.min_depth, info.max_depth)
    np.testing.assert_array_equal(np.isnan(result.depth), np.isnan(expected))
    assert np.nanmax(np.abs(result.depth - expected)) < 1e-3


def test_metadata_and_single_file():
    path = exported("hu-lite")
    proto = onnx.load(str(path), load_external_data=False)
    props = {p.key: p.value for p in proto.metadata_props}
    for key in (
        "name",
        "input_height",
        "input_width",
        "mean",
        "std",
        "color_order",
        "min_depth",
        "max_depth",
        "output_meaning",
        "recipe",
        "git_hash",
        "trained",
    ):
        assert key in props, key
    assert props["trained"] == "false" and props["color_order"] == "rgb" and props["input_height"] == "64"
    assert max(op.version for op in proto.opset_import if op.domain in ("", "ai.onnx")) >= 18
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    assert [o.name for o in proto.graph.output] == ["depth", "uncertainty"]
    assert list(path.parent.glob(path.name + ".data")) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hu-lite", "disdepth-b0", "disdepth-lite0"])
def test_dynamic_export_runs_at_two_sizes(name: str):
    """One dynamic file (exported at 64x64) matches PyTorch at 64x96 and 96x128 (hu-lite's decoder
    resizes to runtime sizes; disdepth-b0 adds LG-Conv's matmul adaptive pooling, non-zero in these test
    models so the global branch shows in the output; disdepth-lite0 adds TensorFlow SAME padding and
    [-1, 1] input normalisation from its metadata)."""
    path = exported(name, dynamic=True)
    dims = onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param != "" for d in dims] == [True, False, True, True]
    for hw in ((64, 96), (96, 128)):
        estimator = load_estimator(path, device="cpu", threads=1, input_hw=hw)
        image = np.random.default_rng(hw[0]).integers(0, 256, (*hw, 3), dtype=np.uint8)
        result = estimator.predict(image)
        info = estimator.info
        batch = preprocess(image, ResizePlan.create(hw, hw, "resize"), info.mean, info.std)
        with torch.inference_mode():
            reference = model(name)(torch.from_numpy(batch)).depth[0, 0].numpy().copy()
        expected = invalidate(reference, info.min_depth, info.max_depth)
        assert result.depth.shape == hw
        np.testing.assert_array_equal(np.isnan(result.depth), np.isnan(expected))
        assert np.nanmax(np.abs(result.depth - expected)) < 1e-3


def test_static_export_refuses_other_sizes():
    with pytest.raises(ValueError, match="static input 64x64"):
        load_estimator(exported("hu-lite"), threads=1, input_hw=(96, 128))


def test_export_rejects_bad_sizes(tmp_path):
    from disdepth_core.export.onnx_export import export_onnx

    with pytest.raises(ValueError, match="multiples of 16"):
        export_onnx(model("hu-lite"), tmp_path / "x.onnx", 40, 64)


@pytest.mark.slow
def test_ort_int8_quantization(tmp_path):
    fp32 = exported("hu-lite")
    estimator = load_estimator(fp32, backend="onnxruntime", threads=1)
    batches = model_batches(calibration_images(None, size_hw=(64, 64)), estimator.info, 6)
    int8 = quantize_int8(fp32, tmp_path / "hu-int8.onnx", estimator.info, batches[2:])
    report = compare_depth(fp32, int8, batches[:2])
    assert report.abs_rel < 0.03 and report.max_abs_diff < 0.5
    quantized = load_estimator(int8, backend="onnxruntime", threads=1, precision="int8")
    assert quantized.backend.precision == "int8" and "precision=int8" in quantized.describe()
    assert quantized.info.extra["int8_backend"] == "onnxruntime"
    assert quantized.predict(np.zeros((64, 64, 3), np.uint8)).depth.shape == (64, 64)
    with pytest.raises(ValueError, match="make an int8 model"):
        load_estimator(fp32, backend="onnxruntime", threads=1, precision="int8")


def _fused_graph(path, tmp_path):
    """The graph ONNX Runtime's CPU provider actually runs (after its QDQ fusions)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(tmp_path / "fused.onnx")
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return onnx.load(str(tmp_path / "fused.onnx")).graph


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hu-lite", "disdepth-mbv2"])
def test_int8_convs_run_as_qlinearconv(name, tmp_path):
    """The faster path: every Conv outside LG-Convs and the bins head is quantized (uint8 activations,
    int8 per-channel weights) and ONNX Runtime fuses each one into QLinearConv; with int8 activations
    (the old recipe) none was fused and every Conv ran in float behind DequantizeLinear."""
    from disdepth_core.export.ort_quantize import float_nodes

    fp32 = exported(name)
    info = load_estimator(fp32, backend="onnxruntime", threads=1).info
    batches = model_batches(calibration_images(None, size_hw=(64, 64)), info, 3)
    int8 = quantize_int8(fp32, tmp_path / "int8.onnx", info, batches)
    kept_float = set(float_nodes(fp32))
    graph = onnx.load(str(fp32)).graph
    quantizable = [n for n in graph.node if n.op_type == "Conv" and n.name not in kept_float]
    assert quantizable, "nothing to quantize"
    producers = {o: n for n in onnx.load(str(int8)).graph.node for o in n.output}
    quantized_graph = onnx.load(str(int8)).graph
    weight_types = {t.name: t.data_type for t in quantized_graph.initializer}
    for node in (n for n in quantized_graph.node if n.op_type == "Conv" and n.name not in kept_float):
        data, weight = (producers.get(i) for i in node.input[:2])
        assert data is not None and data.op_type == "DequantizeLinear", node.name
        assert weight is not None and weight.op_type == "DequantizeLinear", node.name
        assert weight_types[weight.input[0]] == onnx.TensorProto.INT8
        assert weight_types.get(data.input[2]) == onnx.TensorProto.UINT8  # activation zero point
    fused = _fused_graph(int8, tmp_path)
    float_convs = [n for n in fused.node if n.op_type in ("Conv", "FusedConv")]
    assert sum(n.op_type == "QLinearConv" for n in fused.node) == len(quantizable)
    assert len(float_convs) == sum(n.op_type == "Conv" and n.name in kept_float for n in graph.node)
    if name == "disdepth-mbv2":
        assert any("LGConv" in p.value for n in graph.node for p in n.metadata_props if n.name in kept_float)


def test_onnxruntime_int8_is_refused_only_where_measured_and_caused():
    from disdepth_core.export.ort_quantize import onnxruntime_int8_refusal

    assert "measured 0.94-1.02x" in onnxruntime_int8_refusal(model("disdepth-b0"))
    assert onnxruntime_int8_refusal(model("hu-lite")) is None
    dense_only = build_model("hu-lite")  # same name as a refused student, no depthwise LG-Conv (shipped)
    dense_only.name = "disdepth-mbv2"
    assert onnxruntime_int8_refusal(dense_only) is None


def test_cli_refuses_onnxruntime_int8_for_depthwise_lgconv(tmp_path, capsys):
    from disdepth_core.cli.main import main

    out = tmp_path / "b0-int8.onnx"
    args = ["export", "--model", "disdepth-b0", "--height", "64", "--width", "64", "-o", str(out)]
    assert main([*args, "--precision", "int8"]) == 2
    error = capsys.readouterr().err
    assert "int8 is not offered for onnxruntime" in error and "--int8-backend openvino" in error
    assert not out.exists()


@pytest.mark.slow
def test_cli_export_untrained(tmp_path, capsys):
    from disdepth_core.cli.main import main

    out = tmp_path / "cli.onnx"
    assert main(["export", "--model", "hu-lite", "--height", "64", "--width", "64", "-o", str(out)]) == 0
    assert "max abs error vs PyTorch" in capsys.readouterr().out
    assert load_estimator(out, threads=1).info.trained is False
    assert main(["export", "--height", "64", "--width", "64", "-o", str(out)]) == 2


def test_failed_or_interrupted_export_keeps_the_previous_model(tmp_path, monkeypatch):
    """A verification failure and an interrupt mid-write leave the previous file untouched. The torch
    export step writes the process's cached export of the same model (what it would write, without its
    ten seconds); metadata, verification against PyTorch and the atomic rename are the real ones."""
    from disdepth_core.export import onnx_export

    target = tmp_path / "model.onnx"
    good = exported("hu-lite").read_bytes()
    target.write_bytes(good)

    def cached_export(model_, path, *args):
        path.write_bytes(good)

    monkeypatch.setattr(onnx_export, "_torch_export", cached_export)
    with pytest.raises(RuntimeError, match=r"differs from PyTorch.*not written"):
        onnx_export.export_onnx(model("hu-lite"), target, 64, 64, tolerance=-1.0)
    assert target.read_bytes() == good

    def killed_midway(model_, path, *args):
        path.write_bytes(good[:100])  # a truncated file, then the process is interrupted
        raise KeyboardInterrupt

    monkeypatch.setattr(onnx_export, "_torch_export", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        onnx_export.export_onnx(model("hu-lite"), target, 64, 64)
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
