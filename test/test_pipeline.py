"""The one per-frame path: every failure a message or a backend can cause is classified and costs one
frame (or only camera_info/points), never an exception; valid frames after them are answered correctly.
Includes the messages that silenced the node before (camera_info degenerate after scaling, PNG/JPEG
headers declaring huge images, bit-flipped JPEGs)."""

from __future__ import annotations

import resource
import time
import zlib

import cv2
import numpy as np
import pytest
from runtime_fixtures import tiny_onnx
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from disdepth_core.runtime import load_estimator
from disdepth_ros.outputs import OutputSettings
from disdepth_ros.pipeline import FramePipeline

H, W = 240, 320
K = np.array([[250.0, 0.0, 159.5], [0.0, 250.0, 119.5], [0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def estimator(tmp_path_factory):
    return load_estimator(tiny_onnx(tmp_path_factory.mktemp("pipe") / "tiny.onnx"), device="cpu")


def _pipeline(estimator, compressed: bool = False, max_input_pixels: int = 3840 * 2160) -> FramePipeline:
    settings = OutputSettings(min_depth=0.1, max_depth=10.0)
    return FramePipeline(estimator, settings, compressed=compressed, max_input_pixels=max_input_pixels)


def _rgb(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _image(rgb: np.ndarray) -> Image:
    msg = Image(height=rgb.shape[0], width=rgb.shape[1], encoding="rgb8", step=rgb.shape[1] * 3)
    msg.data = rgb.tobytes()
    msg.header.frame_id = "cam"
    return msg


def _info(k: np.ndarray = K, width: int = W, height: int = H) -> CameraInfo:
    msg = CameraInfo(width=width, height=height)
    msg.k = np.asarray(k, dtype=np.float64).ravel().tolist()
    msg.p = np.hstack([np.asarray(k, dtype=np.float64), np.zeros((3, 1))]).ravel().tolist()
    return msg


def _jpeg(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return data.tobytes()


def _compressed(data: bytes, fmt: str = "jpeg") -> CompressedImage:
    msg = CompressedImage(format=fmt)
    msg.data = data
    return msg


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A valid small JPEG whose frame header (SOF0) is patched to declare width x height."""
    data = bytearray(_jpeg(_rgb()[:16, :16]))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 7] = height.to_bytes(2, "big")
    data[sof + 7 : sof + 9] = width.to_bytes(2, "big")
    return bytes(data)


def _png_declaring(width: int, height: int) -> bytes:
    """A 69-byte PNG: signature + an IHDR declaring width x height + an empty IDAT + IEND."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


def test_valid_frame_gives_depth_camera_info_and_points(estimator):
    outcome = _pipeline(estimator).process(_image(_rgb()), _info(), ("points",))
    assert outcome.ok and not outcome.problems
    assert set(outcome.messages) == {"depth", "camera_info", "points"}
    assert outcome.depth.shape == (H, W) and np.isfinite(outcome.depth).all()
    timings = outcome.timings
    assert timings.inference_ms > 0 and timings.outputs_ms > 0 and timings.cloud_ms > 0
    assert timings.total_ms >= timings.inference_ms + timings.outputs_ms + timings.cloud_ms
    unsubscribed = _pipeline(estimator).process(_image(_rgb()), _info(), ())
    assert set(unsubscribed.messages) == {"depth", "camera_info"} and unsubscribed.timings.cloud_ms == 0


def test_scaled_depth_is_the_depth_message_and_the_model_depth_stays_unscaled(estimator):
    """The scale and the limits go into the depth message's own buffer; model_depth (eval-bag scores it)
    is the model's depth as predicted."""
    from disdepth_core.scale import ScaleTracker

    predicted = estimator.predict(_rgb(), fx=K[0, 0]).depth
    limit = float(np.nanmedian(predicted)) * 2.5  # cuts about half
    settings = OutputSettings(min_depth=0.1, max_depth=limit)
    pipeline = FramePipeline(estimator, settings, scale=ScaleTracker("fixed:2.5"))
    outcome = pipeline.process(_image(_rgb()), _info(), ())
    np.testing.assert_array_equal(outcome.model_depth, predicted)
    expected = predicted * np.float32(2.5)
    expected[(expected < 0.1) | (expected > limit)] = np.nan
    np.testing.assert_array_equal(outcome.depth, expected)
    assert np.isnan(outcome.depth).any() and not np.isnan(outcome.depth).all()  # the limits cut some
    published = np.frombuffer(outcome.messages["depth"].data, np.float32).reshape(H, W)
    assert np.shares_memory(published, outcome.depth)


def test_default_limits_leave_the_scaled_depth_as_it_is(estimator):
    """With no limits (the defaults) the range check's bounds show that nothing needs marking."""
    from disdepth_core.scale import ScaleTracker
    from disdepth_ros.pipeline import _limits_cut_nothing

    settings = OutputSettings(min_depth=0.0, max_depth=float("inf"))
    pipeline = FramePipeline(estimator, settings, scale=ScaleTracker("fixed:1.7"))
    outcome = pipeline.process(_image(_rgb()), _info())
    np.testing.assert_array_equal(outcome.depth, outcome.model_depth * np.float32(1.7))
    bounds, factor = (0.1, 10.0), np.float32(1.7)
    assert _limits_cut_nothing(bounds, factor, 0.0, float("inf"))
    assert _limits_cut_nothing(bounds, factor, 0.16, 17.1)
    assert not _limits_cut_nothing(bounds, factor, 0.0, 16.9)
    assert not _limits_cut_nothing(bounds, factor, 0.2, float("inf"))
    assert not _limits_cut_nothing((1e-3, float("inf")), factor, 0.0, float("inf"))  # inf * 1.7 overflows
    assert not _limits_cut_nothing((1e-3, 3e38), np.float32(2.0), 0.0, float("inf"))  # so does this
    assert not _limits_cut_nothing(bounds, factor, float("nan"), 5.0)


def test_uncertainty_is_restored_only_when_published(estimator, monkeypatch):
    asked = []
    predict = estimator.predict
    monkeypatch.setattr(
        estimator, "predict", lambda *a, **kw: asked.append(kw.get("uncertainty")) or predict(*a, **kw)
    )
    pipeline = _pipeline(estimator)
    assert "uncertainty" not in pipeline.process(_image(_rgb()), _info()).messages
    pipeline.settings = OutputSettings(min_depth=0.1, max_depth=10.0, publish_uncertainty=True)
    published = pipeline.process(_image(_rgb()), _info()).messages["uncertainty"]
    assert (published.height, published.width, published.encoding) == (H, W, "32FC1")
    assert asked == [False, True]


@pytest.mark.parametrize(
    ("name", "k_fix", "info_size"),
    [
        ("nan in K's homogeneous row, resized", lambda k, p: k.__setitem__(8, np.nan), (160, 120)),
        ("nan in P[8], resized", lambda k, p: p.__setitem__(10, np.nan), (160, 120)),
        (
            "fx 1e308, doubled to inf",
            lambda k, p: (k.__setitem__(0, 1e308), p.__setitem__(0, 1e308)),
            (160, 120),
        ),
        (
            "fx 5e-324, halved to 0",
            lambda k, p: (k.__setitem__(0, 5e-324), p.__setitem__(0, 5e-324)),
            (640, 480),
        ),
        (
            "all-zero K and P",
            lambda k, p: (k.__setitem__(slice(None), 0.0), p.__setitem__(slice(None), 0.0)),
            (W, H),
        ),
    ],
)
def test_camera_info_unusable_for_the_image_costs_only_camera_info_and_points(
    estimator, name, k_fix, info_size
):
    info = _info(K * np.array([[info_size[0] / W] * 3, [info_size[1] / H] * 3, [1, 1, 1]]), *info_size)
    k, p = np.array(info.k), np.array(info.p)
    k_fix(k, p)
    info.k, info.p = k.tolist(), p.tolist()
    outcome = _pipeline(estimator).process(_image(_rgb()), info, ("points",))
    assert outcome.ok, name
    assert set(outcome.messages) == {"depth"}
    assert [problem.cause for problem in outcome.problems] == ["camera_info"]


def test_decompression_bombs_are_refused_before_decoding(estimator):
    pipeline = _pipeline(estimator, compressed=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for data in (_jpeg_declaring(12000, 12000), _png_declaring(100000, 100000)):
        start = time.perf_counter()
        outcome = pipeline.process(_compressed(data), None)
        assert time.perf_counter() - start < 0.5
        assert outcome.failure.cause == "bad_input" and "over the limit" in outcome.failure.message
    assert len(_png_declaring(100000, 100000)) < 100
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 50, f"peak RSS grew by {grown_mb:.0f} MB"


def test_raw_image_over_the_limit_is_refused(estimator):
    outcome = _pipeline(estimator, max_input_pixels=W * H - 1).process(_image(_rgb()), _info())
    assert outcome.failure.cause == "bad_input" and outcome.rgb is None


def test_corrupt_jpeg_is_a_decode_failure_and_the_decoder_stays_quiet(estimator, capfd):
    data = bytearray(_jpeg(_rgb(1)))
    for offset in (len(data) // 3, len(data) // 2, 2 * len(data) // 3):
        data[offset] ^= 0xFF
    outcome = _pipeline(estimator, compressed=True).process(_compressed(bytes(data)), _info())
    assert outcome.failure.cause == "decode" and "corrupt jpeg data" in outcome.failure.message
    assert "Corrupt JPEG" not in capfd.readouterr().err  # captured, counted, not printed
    clean = _pipeline(estimator, compressed=True).process(_compressed(_jpeg(_rgb(1))), _info(), ())
    assert clean.ok and set(clean.messages) == {"depth", "camera_info"}


@pytest.mark.parametrize(
    ("encoding", "data_len"),
    [("nv21", None), ("8UC3", None), ("32FC1", None), ("rgb8", 100), ("rgb8", 0)],
)
def test_undecodable_raw_images_are_decode_failures(estimator, encoding, data_len):
    msg = _image(_rgb())
    msg.encoding = encoding
    if data_len is not None:
        msg.data = bytes(msg.data)[:data_len]
    outcome = _pipeline(estimator).process(msg, _info())
    assert outcome.failure.cause == "decode"


def test_backend_and_output_failures_are_classified(estimator, monkeypatch):
    pipeline = _pipeline(estimator)
    monkeypatch.setattr(estimator.backend, "infer", lambda batch: (_ for _ in ()).throw(MemoryError("oom")))
    outcome = pipeline.process(_image(_rgb()), _info())
    assert outcome.failure.cause == "backend" and "MemoryError: oom" in outcome.failure.message
    monkeypatch.undo()
    pipeline.settings = OutputSettings(min_depth=0.1, max_depth=10.0, colormap="no-such-map")
    outcome = pipeline.process(_image(_rgb()), _info(), ("colorized",))
    assert outcome.failure.cause == "output" and "colormap" in outcome.failure.message


def test_camera_aware_model_gets_the_focal_length_of_the_image(tmp_path):
    """A camera-aware model's depth scales with fx at the model input (Metric3D): same image, doubled
    focal length, doubled depth; the camera_info is scaled to the image first."""
    from disdepth_core.runtime import ModelInfo

    plain = tiny_onnx(tmp_path / "plain.onnx")
    onnx = pytest.importorskip("onnx")
    model = onnx.load(plain)
    props = {p.key: p.value for p in model.metadata_props}
    info = ModelInfo.from_props({**props, "canonical_focal_px": "100.0"}, plain)
    del model.metadata_props[:]
    for key, value in info.to_props().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    aware = tmp_path / "aware.onnx"
    onnx.save(model, str(aware))
    estimator = load_estimator(aware, device="cpu")
    pipeline = FramePipeline(estimator, OutputSettings(min_depth=1e-3, max_depth=1e3))
    rgb = _rgb(3)
    no_info = pipeline.process(_image(rgb), None)
    k1 = K.copy()
    k1[0, 0] = 100.0 * W / estimator.input_hw[1]  # fx that equals the canonical focal at the model input
    same = pipeline.process(_image(rgb), _info(k1))
    k2 = k1.copy()
    k2[0, 0] *= 2
    doubled = pipeline.process(
        _image(rgb), _info(k2 / np.array([[2, 2, 2], [2, 2, 2], [1, 1, 1]]), W // 2, H // 2)
    )
    np.testing.assert_allclose(same.depth, no_info.depth, rtol=1e-6)
    np.testing.assert_allclose(doubled.depth, 2 * no_info.depth, rtol=1e-5)
