"""Runtime: pre/post-processing, metadata, backend selection, file errors, torch-free ONNX path."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from runtime_fixtures import exported

from disdepth_core.onnx_sessions import choose_providers
from disdepth_core.runtime import DepthEstimator, ModelFileError, ModelInfo, ResizePlan, load_estimator
from disdepth_core.runtime.image_ops import as_rgb, invalidate, preprocess, restore
from disdepth_core.runtime.loader import select_backend

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _info(**overrides) -> ModelInfo:
    values = dict(
        name="m", input_height=64, input_width=64, mean=MEAN, std=STD, min_depth=0.1, max_depth=10.0
    )
    values.update(overrides)
    return ModelInfo(**values)


def test_model_info_round_trips_through_props():
    info = _info(dynamic=True, trained=False, recipe="nyu", git_hash="abc", extra={"note": "x"})
    assert ModelInfo.from_props(info.to_props(), "m.onnx") == info


def test_model_info_missing_keys_names_file():
    with pytest.raises(ModelFileError, match=r"m\.onnx: missing disdepth metadata"):
        ModelInfo.from_props({"name": "m"}, "m.onnx")


def test_letterbox_plan_keeps_aspect_and_centres():
    plan = ResizePlan.create((480, 640), (256, 256), "letterbox")
    assert (plan.height, plan.width, plan.top, plan.left) == (192, 256, 32, 0)
    assert ResizePlan.create((480, 640), (256, 256), "resize") == ResizePlan(
        (480, 640), (256, 256), 0, 0, 256, 256
    )
    with pytest.raises(ValueError, match="resize mode"):
        ResizePlan.create((4, 4), (4, 4), "crop")


def test_preprocess_normalises_and_pads_with_zero():
    image = np.full((48, 64, 3), 255, np.uint8)
    plan = ResizePlan.create((48, 64), (64, 64), "letterbox")
    batch = preprocess(image, plan, MEAN, STD)
    assert batch.shape == (1, 3, 64, 64) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[0, :, 32, 32], (1 - np.array(MEAN)) / np.array(STD), rtol=1e-5)
    assert np.all(batch[0, :, : plan.top] == 0) and np.all(batch[0, :, plan.top + plan.height :] == 0)
    bgr = preprocess(
        np.dstack([np.full((48, 64), v, np.uint8) for v in (0, 128, 255)]), plan, MEAN, STD, "bgr"
    )
    rgb = preprocess(np.dstack([np.full((48, 64), v, np.uint8) for v in (0, 128, 255)]), plan, MEAN, STD)
    assert bgr[0, 0, 40, 40] != rgb[0, 0, 40, 40]


def test_restore_crops_letterbox_back_to_source():
    plan = ResizePlan.create((30, 80), (64, 64), "letterbox")
    model_map = np.full((64, 64), -1.0, np.float32)
    rows = np.linspace(1, 2, plan.height, dtype=np.float32)[:, None]
    model_map[plan.top : plan.top + plan.height, plan.left : plan.left + plan.width] = rows
    restored = restore(model_map, plan)
    assert restored.shape == (30, 80)
    assert restored.min() >= 1 - 1e-6 and restored.max() <= 2 + 1e-6  # no padding leaked in
    assert restored[0].mean() < restored[-1].mean()


def test_mono_is_replicated_and_bad_images_rejected():
    mono = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert as_rgb(mono).shape == (3, 4, 3) and np.all(as_rgb(mono)[..., 2] == mono)
    assert as_rgb(mono[..., None]).shape == (3, 4, 3)
    with pytest.raises(TypeError, match="uint8"):
        as_rgb(np.zeros((3, 4, 3), np.float32))
    with pytest.raises(ValueError, match="H x W x 3"):
        as_rgb(np.zeros((3, 4, 4), np.uint8))


def test_invalid_depth_becomes_nan():
    depth = np.array([0.05, 0.1, 5.0, 10.0, 11.0, np.inf, np.nan], np.float32)
    out = invalidate(depth, 0.1, 10.0)
    assert np.isnan(out).tolist() == [True, False, False, False, True, True, True]
    unbounded = np.array([-np.inf, -1.0, 0.0, 3.0e38, np.inf, np.nan], np.float32)
    assert np.isnan(invalidate(unbounded.copy(), 0.0, np.inf)).tolist() == [1, 1, 0, 0, 1, 1]
    assert np.isnan(invalidate(unbounded.copy(), -np.inf, np.inf)).tolist() == [0, 0, 0, 0, 1, 1]
    assert np.isnan(invalidate(unbounded.copy().astype(np.float64) * 1e10, 0.0, np.inf)).tolist() == [
        1,
        1,
        0,
        0,
        1,
        1,
    ]  # float64 keeps what float32 cannot hold
    assert np.isnan(invalidate(unbounded.copy(), 0.0, np.nan)).all()


class _FakeBackend:
    name, provider, precision, fixed_input_hw = "fake", "cpu", "fp32", None

    def __init__(self, value: np.ndarray) -> None:
        self.info = _info(dynamic=True)
        self.value = value

    def infer(self, batch):
        b, _, h, w = batch.shape
        depth = np.broadcast_to(self.value, (b, 1, h, w)).astype(np.float32).copy()
        return depth, np.ones_like(depth)


def test_estimator_marks_invalid_and_returns_input_resolution():
    values = np.full((64, 64), 5.0, np.float32)
    values[:, :32] = 50.0  # beyond max_depth
    estimator = DepthEstimator(_FakeBackend(values), "test", input_hw=(64, 64))
    result = estimator.predict(np.zeros((64, 64), np.uint8))
    assert result.depth.shape == (64, 64) and result.depth.dtype == np.float32
    assert np.isnan(result.depth[:, :30]).all() and np.allclose(result.depth[:, 34:], 5.0)
    assert np.isnan(result.uncertainty[:, :30]).all()
    assert result.timings.total_ms > 0
    lean = estimator.predict(np.zeros((64, 64), np.uint8), uncertainty=False)  # nobody wants it
    assert lean.uncertainty is None
    np.testing.assert_array_equal(lean.depth, result.depth)
    with pytest.raises(ValueError, match="multiples of 16"):  # checked once, where options enter
        load_estimator("no_such_model.onnx", input_hw=(50, 64))


def test_select_backend_by_suffix_and_reason(tmp_path: Path):
    assert select_backend(Path("m.onnx"), "auto")[0] in (
        "onnxruntime",
        "openvino",
    )  # see test_openvino_backend
    assert select_backend(Path("m.engine"), "auto")[0] == "tensorrt"
    assert select_backend(Path("m.plan"), "auto")[0] == "tensorrt"
    assert select_backend(Path("m.safetensors"), "auto")[0] == "torch"
    assert select_backend(Path("m.onnx"), "tensorrt") == ("tensorrt", "backend=tensorrt requested")
    with pytest.raises(ValueError, match=r"m\.onnx: backend 'torch' cannot load \.onnx"):
        select_backend(Path("m.onnx"), "torch")
    with pytest.raises(ModelFileError, match=r"m\.pt: pickle"):
        select_backend(Path("m.pt"), "auto")
    with pytest.raises(ModelFileError, match=r"m\.txt: unknown model file type"):
        select_backend(Path("m.txt"), "auto")


class CountingBackend:
    """A backend registered by a test: ONNX Runtime underneath, counting its calls."""

    def __init__(self, path, device="auto", precision="fp32", threads=None):
        from disdepth_core.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

        self._inner = OnnxRuntimeBackend(path, device=device, precision=precision, threads=threads)
        self.name, self.calls = "counting", 0
        self.info, self.provider, self.precision = self._inner.info, "counting", precision
        self.reason, self.fixed_input_hw = "test backend", self._inner.fixed_input_hw

    def infer(self, batch):
        self.calls += 1
        return self._inner.infer(batch)


def test_a_registered_backend_is_one_registration_away(tmp_path: Path, monkeypatch):
    """A new backend is a factory plus one BackendKind: the loader, options and errors then know it."""
    from runtime_fixtures import tiny_onnx

    from disdepth_core.runtime.backends import registry
    from disdepth_core.runtime.options import RuntimeOptions

    kind = registry.BackendKind("counting", (".onnx",), ("fp32",), "test_runtime:CountingBackend", "test")
    monkeypatch.setitem(registry._KINDS, kind.name, kind)
    path = Path(tiny_onnx(tmp_path / "tiny.onnx"))
    estimator = load_estimator(path, backend="counting", precision="fp32")
    estimator.predict(np.full((32, 40, 3), 128, np.uint8))
    assert estimator.backend.name == "counting" and estimator.backend.calls == 2  # finite check + predict
    assert RuntimeOptions(backend="counting").backend == "counting"
    assert "counting" in registry.backends_for_suffix()[".onnx"]
    with pytest.raises(ValueError, match="precision=bf16 runs on backend=openvino only, not counting"):
        select_backend(path, "counting", precision="bf16")
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        registry.backend_kind("nope")


def test_provider_preference():
    onnx_path = Path("/models/m.onnx")
    providers, reason = choose_providers(["CPUExecutionProvider"], "auto", "fp32", onnx_path)
    assert providers == ["CPUExecutionProvider"] and "no GPU provider" in reason
    available = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    providers, _ = choose_providers(available, "cuda:1", "fp16", onnx_path)
    assert [p[0] if isinstance(p, tuple) else p for p in providers] == available
    assert providers[0][1]["trt_fp16_enable"] and providers[0][1]["device_id"] == 1
    assert providers[0][1]["trt_engine_cache_enable"]
    assert choose_providers(available, "cpu", "fp32", onnx_path)[0] == ["CPUExecutionProvider"]
    with pytest.raises(RuntimeError, match="no GPU provider"):
        choose_providers(["CPUExecutionProvider"], "cuda", "fp32", onnx_path)


def test_missing_corrupted_and_truncated_files_name_the_file(tmp_path: Path):
    missing = tmp_path / "nope.onnx"
    with pytest.raises(FileNotFoundError, match=r"nope\.onnx"):
        load_estimator(missing)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00not a model\xff" * 10)
    with pytest.raises(ModelFileError, match=r"garbage\.onnx: not a valid ONNX model"):
        load_estimator(garbage)
    good = exported("hu-lite").read_bytes()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(ModelFileError, match=r"truncated\.onnx"):
        load_estimator(truncated)
    broken_ckpt = tmp_path / "broken.safetensors"
    broken_ckpt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ModelFileError, match=r"broken\.safetensors"):
        load_estimator(broken_ckpt)


def _tiny_onnx(path: Path, channels: int, outputs: tuple[str, ...], metadata: bool = True) -> Path:
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, channels, 64, 64])
    nodes, outs = [], []
    for name in outputs:
        nodes.append(helper.make_node("ReduceMean", ["image"], [name], axes=[1], keepdims=1))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 1, 64, 64]))
    model = helper.make_model(
        helper.make_graph(nodes, "g", [x], outs), opset_imports=[helper.make_opsetid("", 17)], ir_version=10
    )
    if metadata:
        helper.set_model_props(model, _info().to_props())
    onnx.save(model, str(path))
    return path


def test_wrong_shaped_models_are_rejected(tmp_path: Path):
    with pytest.raises(ModelFileError, match=r"four\.onnx: input 'image' has shape \[1, 4, 64, 64\]"):
        load_estimator(_tiny_onnx(tmp_path / "four.onnx", 4, ("depth",)))
    with pytest.raises(ModelFileError, match=r"nodepth\.onnx: no 'depth' output"):
        load_estimator(_tiny_onnx(tmp_path / "nodepth.onnx", 3, ("disparity",)))
    with pytest.raises(ModelFileError, match=r"nometa\.onnx: missing disdepth metadata"):
        load_estimator(_tiny_onnx(tmp_path / "nometa.onnx", 3, ("depth",), metadata=False))
    estimator = load_estimator(_tiny_onnx(tmp_path / "ok.onnx", 3, ("depth",)), device="cpu")
    result = estimator.predict(np.full((20, 30, 3), 128, np.uint8))
    assert result.uncertainty is None and result.depth.shape == (20, 30)


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_onnx_runtime_path_does_not_import_torch(backend: str):
    if backend == "openvino":
        pytest.importorskip("openvino", reason="openvino not installed")
    path = exported("hu-lite")
    code = (
        "import sys, numpy as np\n"
        "from disdepth_core.runtime import load_estimator\n"
        f"e = load_estimator({str(path)!r}, backend={backend!r}, threads=1)\n"
        "r = e.predict(np.zeros((48, 80, 3), np.uint8))\n"
        "assert r.depth.shape == (48, 80)\n"
        "print(e.describe())\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (
        f"backend={backend} provider={'CPUExecutionProvider' if backend == 'onnxruntime' else 'CPU'}"
        in done.stdout
    )


def test_letterbox_prediction_matches_resize_inside_content():
    estimator = load_estimator(exported("hu-lite"), threads=1, resize_mode="letterbox")
    image = np.random.default_rng(1).integers(0, 256, (32, 64, 3), dtype=np.uint8)
    result = estimator.predict(image)
    assert result.depth.shape == (32, 64) and np.isfinite(result.depth).all()
    assert "letterbox" in estimator.describe() and "UNTRAINED" in estimator.describe()


def test_torch_backend_loads_checkpoint(tmp_path: Path):
    from runtime_fixtures import model

    from disdepth_core.models.checkpoint import save_model

    path = save_model(tmp_path / "hu.safetensors", model("hu-lite"), {"input_height": 64, "input_width": 64})
    estimator = load_estimator(path, device="cpu")
    onnx_estimator = load_estimator(exported("hu-lite"), precision="fp32", threads=1)
    image = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert estimator.backend.name == "torch" and estimator.input_hw == (64, 64)
    np.testing.assert_allclose(estimator.predict(image).depth, onnx_estimator.predict(image).depth, atol=1e-3)
    with pytest.raises(ValueError, match="fp16 with the torch backend needs a CUDA"):
        load_estimator(path, device="cpu", precision="fp16")


@pytest.mark.parametrize("color_order", ["rgb", "bgr"])
@pytest.mark.parametrize("mode", ["resize", "letterbox"])
def test_preprocess_of_a_bgr8_view_equals_its_rgb_copy(color_order: str, mode: str):
    """bgr8 frames decode to a channel-reversed view; preprocessing resizes the BGR buffer instead of
    copying the view, and must produce exactly what a contiguous RGB copy produces."""
    bgr = np.random.default_rng(3).integers(0, 256, (120, 200, 3), dtype=np.uint8)
    view = bgr[..., ::-1]
    plan = ResizePlan.create((120, 200), (64, 96), mode)
    expected = preprocess(np.ascontiguousarray(view), plan, MEAN, STD, color_order)
    np.testing.assert_array_equal(preprocess(view, plan, MEAN, STD, color_order), expected)


def test_model_with_nan_weights_is_refused_naming_the_file(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper
    from runtime_fixtures import tiny_onnx

    model = onnx.load(tiny_onnx(tmp_path / "good.onnx"))
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output[0] == "nine":
            node.attribute[0].t.CopyFrom(numpy_helper.from_array(np.array(np.nan, np.float32), "n"))
    broken = tmp_path / "diverged.onnx"
    onnx.save(model, str(broken))
    with pytest.raises(ModelFileError, match=r"diverged\.onnx: predicts non-finite depth.*NaN or inf"):
        load_estimator(broken, backend="onnxruntime", device="cpu")
    if importlib.util.find_spec("openvino") is not None:  # openvino checks the weights themselves
        with pytest.raises(ModelFileError, match=r"diverged\.onnx: weight .* contains NaN or inf"):
            load_estimator(broken, backend="openvino", device="cpu")


def test_auto_backend_ignores_providers_that_are_not_a_local_gpu(monkeypatch):
    """onnxruntime's PyPI build lists AzureExecutionProvider: that is no reason to keep a CPU run on it."""
    pytest.importorskip("openvino")
    import onnxruntime

    from disdepth_core.runtime.loader import auto_onnx_backend

    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["AzureExecutionProvider", "CPUExecutionProvider"]
    )
    assert auto_onnx_backend("auto", "fp32")[0] == "openvino"
    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    backend, reason = auto_onnx_backend("auto", "fp32")
    assert backend == "onnxruntime" and "CUDAExecutionProvider" in reason


def test_predict_from_several_threads_gives_each_caller_its_own_result():
    """The node's worker and another thread (a test, a second consumer) may call predict at once."""
    import threading

    from runtime_fixtures import exported

    estimator = load_estimator(exported("hu-lite"), device="cpu")
    images = [np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8) for seed in range(4)]
    expected = [estimator.predict(image).depth for image in images]
    results: dict[int, list[np.ndarray]] = {i: [] for i in range(4)}

    def work(index: int) -> None:
        for _ in range(5):
            results[index].append(estimator.predict(images[index]).depth)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for index in range(4):
        assert len(results[index]) == 5
        for depth in results[index]:
            np.testing.assert_array_equal(depth, expected[index])


def test_shrinking_preprocess_equals_the_uint8_area_resize():
    """Shrinking averages each output pixel's footprint (INTER_AREA, as training resizes) on float32 and
    rounds to whole grey levels: at 640x480 -> 160x128 (a non-integer ratio, OpenCV's generic path) the
    model input is exactly what the uint8 resize gives."""
    rng = np.random.default_rng(5)
    plan = ResizePlan.create((480, 640), (128, 160), "resize")
    noise = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    smooth = cv2.GaussianBlur(noise, (9, 9), 3)  # neighbours alike: averages near half grey levels
    for image in (noise, smooth, np.full((480, 640, 3), 7, np.uint8), np.ascontiguousarray(noise[:, ::-1])):
        batch = preprocess(image, plan, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))[0].transpose(1, 2, 0) * 255
        expected = cv2.resize(image, (160, 128), interpolation=cv2.INTER_AREA).astype(np.float32)
        np.testing.assert_allclose(batch, expected, atol=1e-4)
    # Columns averaged first (640 -> 160: groups of 4) or not (640 -> 200): the same as OpenCV in one go.
    for width in (160, 200):
        wide = ResizePlan.create((480, 640), (128, width), "resize")
        batch = preprocess(smooth, wide, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))[0].transpose(1, 2, 0) * 255
        expected = cv2.resize(smooth, (width, 128), interpolation=cv2.INTER_AREA).astype(np.float32)
        np.testing.assert_allclose(batch, expected, atol=1e-4)
