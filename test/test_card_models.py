"""Any ONNX depth model with a teacher card runs in the runtime, the frame pipeline and the node; a
relative-depth one gets metres only from a scale source (disdepth_core.runtime.backends.card_backend)."""

from __future__ import annotations

import numpy as np
import pytest
from runtime_fixtures import foreign_onnx

from disdepth_core.runtime import load_estimator
from disdepth_core.scale import ScaleTracker

pytest.importorskip("onnxruntime")

H, W = 32, 48


def _rgb(seed: int = 0, height: int = 64, width: int = 96) -> np.ndarray:
    return np.random.default_rng(seed).integers(20, 256, (height, width, 3), dtype=np.uint8)


def test_relative_model_runs_through_its_card(tmp_path):
    path = foreign_onnx(tmp_path / "mean.onnx", H, W, name="mean-of-rgb")
    estimator = load_estimator(path)
    info = estimator.info
    assert info.relative and info.output_kind == "relative_depth" and info.name == "mean-of-rgb"
    assert "teacher card mean-of-rgb (relative_depth, NHWC)" in estimator.describe()
    rgb = _rgb(0, H, W)  # at the card's size: no resize, the output is exactly the channel mean
    depth = estimator.predict(rgb).depth
    np.testing.assert_allclose(depth, rgb.mean(axis=2) / 255.0, rtol=1e-5)


def test_inverse_depth_output_is_inverted_and_zero_disparity_is_invalid(tmp_path):
    path = foreign_onnx(tmp_path / "inv.onnx", H, W, output="relative_inverse_depth")
    rgb = _rgb(1, H, W)
    rgb[:4] = 0  # black rows: disparity 0, i.e. infinitely far
    depth = load_estimator(path).predict(rgb).depth
    expected = rgb.mean(axis=2) / 255.0
    assert np.isnan(depth[:4]).all()
    np.testing.assert_allclose(depth[4:], 1.0 / expected[4:], rtol=1e-5)


def test_card_model_refuses_backends_and_precisions_it_cannot_run(tmp_path):
    path = foreign_onnx(tmp_path / "mean.onnx", H, W)
    with pytest.raises(ValueError, match="runs on backend onnxruntime, not openvino"):
        load_estimator(path, backend="openvino")
    with pytest.raises(ValueError, match="runs in fp32, not int8"):
        load_estimator(path, precision="int8")


def test_pipeline_publishes_a_relative_model_only_with_a_scale(tmp_path):
    from sensor_msgs.msg import Image

    from disdepth_ros.outputs import OutputSettings
    from disdepth_ros.pipeline import FramePipeline

    estimator = load_estimator(foreign_onnx(tmp_path / "mean.onnx", H, W))
    rgb = _rgb(2)
    msg = Image(height=rgb.shape[0], width=rgb.shape[1], encoding="rgb8", step=rgb.shape[1] * 3)
    msg.data = rgb.tobytes()
    settings = OutputSettings(min_depth=0.0, max_depth=float("inf"))
    waiting = FramePipeline(estimator, settings).process(msg, None, ())  # auto: no input, no scale
    assert waiting.failure is not None and waiting.failure.cause == "scale"
    assert waiting.scale.state == "waiting" and "relative-depth model" in waiting.scale.reason
    scaled = FramePipeline(estimator, settings, scale=ScaleTracker("fixed:3", relative_model=True))
    outcome = scaled.process(msg, None, ())
    assert outcome.ok
    np.testing.assert_allclose(outcome.depth, 3.0 * outcome.model_depth, rtol=1e-6)
    with pytest.raises(ValueError, match="cannot give a relative-depth model metres"):
        ScaleTracker("model", relative_model=True)
