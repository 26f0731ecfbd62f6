"""The shipped default model (models/disdepth_default.onnx): what the node loads when model_path is empty."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from disdepth_core.data.synthetic import render_scene
from disdepth_core.evaluation import DepthScorer, EvalRange
from disdepth_core.runtime import load_estimator

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "disdepth_default.onnx"
# The shipped model was trained on rooms of synthetic renderer version 1 (flat shading, no textures from
# photographs) and scored AbsRel 0.193 on these 16 held-out rooms there; on the rooms of renderer version 2
# (seeds 31000-31015, 240x320: furniture, photographs, lamps with shadows, FoV 50-100 degrees) it scores
# 0.609, an untrained student about 2.4. The bound allows for platform differences in ONNX Runtime and
# OpenCV resizing, not for a different or broken model. Tighten it when the default model is retrained.
MAX_ABS_REL = 0.70


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_shipped_model_is_a_trained_student_with_metadata():
    assert SHIPPED.is_file(), "models/disdepth_default.onnx is missing: run scripts/train_default_model.sh"
    assert SHIPPED.stat().st_size < 16 * 2**20, "the shipped model should stay a few MB"
    info = load_estimator(SHIPPED, device="cpu", threads=1).info
    assert info.trained and info.name == "disdepth-mbv2"
    assert (info.input_height, info.input_width) == (128, 160)
    assert (info.min_depth, info.max_depth) == (0.1, 10.0)
    assert "distill" in info.recipe  # the KD pipeline's last stage produced it


def test_node_default_resolves_to_the_shipped_model():
    """An empty model_path finds the shipped file (installed share/ copy first, then the source tree),
    and the installed copy is the same file as the one in the repository (not a stale install)."""
    pytest.importorskip("rclpy")
    from disdepth_ros.model_path import resolve_model_path

    resolved = resolve_model_path("")
    assert resolved.name == SHIPPED.name
    assert _sha256(resolved) == _sha256(SHIPPED), f"{resolved} is stale: re-run scripts/setup.sh"


def test_shipped_model_predicts_metric_depth_on_held_out_rooms():
    estimator = load_estimator(SHIPPED, device="cpu", threads=2)
    scorer = DepthScorer(EvalRange(1e-3, 10.0), ("raw",))
    for seed in range(31000, 31016):
        scene = render_scene(seed=seed, height=240, width=320, kind="room")
        depth = estimator.predict(scene["image"]).depth
        assert depth.shape == (240, 320) and depth.dtype == np.float32
        scorer.add(depth, scene["depth"])
    summary = scorer.summary()
    assert summary["coverage"]["prediction"] > 0.95
    assert summary["raw"]["abs_rel"] < MAX_ABS_REL


def test_default_model_found_without_ament_prefix_path(monkeypatch):
    """`.venv/bin/disdepth demo` in a plain shell has no AMENT_PREFIX_PATH: the node must still find the
    shipped model (in the environment's share/ or the source tree), not fail in ament_index."""
    pytest.importorskip("rclpy")
    from disdepth_ros.model_path import resolve_model_path

    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    resolved = resolve_model_path("")
    assert _sha256(resolved) == _sha256(SHIPPED)


def test_shipped_model_says_it_learnt_from_synthetic_images_only():
    """Its metadata records its training data and teacher; run on its own scale it is flagged."""
    from disdepth_core.runtime import load_estimator
    from disdepth_core.scale.advice import own_scale_warning

    info = load_estimator(SHIPPED).info
    assert info.extra["training_images"] == "synthetic"
    assert "synthetic" in info.extra["training_data"] and "teacher-tiny" in info.extra["teacher"]
    for spec, mount_known in (("model", True), ("auto", False)):
        warning = own_scale_warning(info, spec, mount_known)
        assert warning is not None and "ground_plane" in warning and "fixed:FACTOR" in warning
    assert (
        own_scale_warning(info, "auto", True) is None
        and own_scale_warning(info, "ground_plane", False) is None
    )
