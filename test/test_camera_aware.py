"""Camera-aware metric depth: canonical transform, focal augmentation, training targets, validation in
metres, teacher->student conversion, checkpoint/ONNX metadata and the runtime's rescaling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from disdepth_core.data.focal_augment import FocalAugment, canonical_depth, crop_resize, metric_depth
from disdepth_core.models import build_model
from disdepth_core.models.checkpoint import save_model
from disdepth_core.runtime import load_estimator
from disdepth_core.train.batches import PreparedDataset


def _intrinsics(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def _plane_depth(k: np.ndarray, height: int, width: int) -> np.ndarray:
    """Depth along the optical axis of the plane 0.2 x + 0.1 y + z = 3 (camera frame) seen through ``k``."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    rays = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones_like(u)])
    return (3.0 / np.tensordot(np.array([0.2, 0.1, 1.0]), rays, axes=1)).astype(np.float32)


class _Samples:
    def __init__(self, samples: list[dict[str, np.ndarray]]) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return self.samples[index]


def test_canonical_transform_round_trips_and_scales_with_the_focal() -> None:
    depth = np.array([[0.5, 2.0], [0.0, 40.0]], np.float32)
    canonical = canonical_depth(depth, fx_in=400.0, canonical_focal=200.0)
    np.testing.assert_allclose(canonical, [[0.25, 1.0], [0.0, 20.0]])
    np.testing.assert_allclose(metric_depth(canonical, 400.0, 200.0), depth)


@pytest.mark.parametrize("zoom", [1.0, 1.5])
def test_crop_resize_intrinsics_describe_the_output_geometry(zoom: float) -> None:
    """The depth of a slanted plane after crop + resize equals the plane rendered with the returned K."""
    k = _intrinsics(300.0, 300.0, 161.5, 118.0)
    depth = _plane_depth(k, 240, 320)
    image = np.zeros((240, 320, 3), np.uint8)
    _, out, k_out = crop_resize(image, depth, k, 96, 160, zoom, np.random.default_rng(2))
    expected = _plane_depth(k_out, 96, 160)
    assert np.median(np.abs(out - expected) / expected) < 2e-3
    # 320 px wide source, 1.5 px of output per source px after the cover scale, then the zoom.
    assert k_out[0, 0] == pytest.approx(300.0 * 160 / round(160 / (0.5 * zoom)), rel=1e-9)


def test_focal_augment_zooms_within_its_range() -> None:
    augment = FocalAugment(max_zoom=2.0)
    k = _intrinsics(100.0, 100.0, 63.5, 47.5)
    image = np.zeros((96, 128, 3), np.uint8)
    focals = [augment(image, None, k, 48, 64, np.random.default_rng(s))[2][0, 0] for s in range(40)]
    assert 50.0 <= min(focals) < 60.0 and 80.0 < max(focals) <= 100.0 + 1e-6
    assert augment(image, None, k, 48, 64, None)[2][0, 0] == pytest.approx(50.0)


def test_camera_aware_training_targets_and_validation_scale() -> None:
    """Training depth is ``depth * f_c / fx_in``; validation keeps metres and carries ``fx_in / f_c``."""
    k = _intrinsics(80.0, 80.0, 47.5, 31.5)
    depth = np.full((64, 96), 4.0, np.float32)
    depth[:10] = 0.0
    samples = _Samples([{"image": np.full((64, 96, 3), 99, np.uint8), "depth": depth, "K": k}])
    train = PreparedDataset(samples, 64, 96, True, seed=0, augment=False, canonical_focal=160.0)[(0, 0)]
    assert train["fx_in"] == pytest.approx(80.0)
    assert float(train["depth"].max()) == pytest.approx(8.0) and float(train["depth"][0, 0, 0]) == 0.0
    val = PreparedDataset(samples, 32, 48, False, seed=0, canonical_focal=160.0)[0]
    assert val["fx_in"] == pytest.approx(40.0) and val["metric_scale"] == pytest.approx(0.25)
    assert float(val["depth"].max()) == pytest.approx(4.0)
    plain = PreparedDataset(samples, 64, 96, True, seed=0, augment=False)[(0, 0)]
    assert "fx_in" not in plain and float(plain["depth"].max()) == pytest.approx(4.0)
    no_k = _Samples([{"image": samples[0]["image"], "depth": depth}])
    with pytest.raises(ValueError, match="no intrinsics K"):
        PreparedDataset(no_k, 64, 96, True, seed=0, canonical_focal=160.0)[(0, 0)]


def test_plain_metric_zoom_brings_the_scene_closer_by_the_zoom() -> None:
    """Without K, a crop zoomed by z shows stripes z times wider and is labelled z times nearer, so
    stripe width x target depth stays what the uncropped frame shows (8 px x 4 m)."""
    image = np.zeros((96, 128, 3), np.uint8)
    image[:, (np.arange(128) % 16) < 8] = 255  # vertical stripes, 8 px wide
    samples = _Samples([{"image": image, "depth": np.full((96, 128), 4.0, np.float32)}])
    zoomed = PreparedDataset(samples, 96, 128, True, seed=0, max_zoom=2.0)
    depths = []
    for epoch in range(24):
        item = zoomed[(0, epoch)]
        target = item["depth"][0].numpy()
        depth = float(np.median(target[target > 0]))
        row = item["image"][:, 48].mean(0).numpy() > 0  # normalised: white > 0 > black
        edges = np.flatnonzero(np.diff(row.astype(np.int8)))
        width = float(np.median(np.diff(edges)))  # mean run length between edges: the stripe width
        assert width * depth == pytest.approx(32.0, rel=0.15)
        depths.append(depth)
    assert 2.0 <= min(depths) < 2.8 and 3.4 < max(depths) <= 4.0 + 1e-6
    unzoomed = PreparedDataset(samples, 96, 128, False, seed=0, max_zoom=2.0)[0]
    assert float(unzoomed["depth"].max()) == pytest.approx(4.0)


def test_input_normalisation_follows_the_model() -> None:
    samples = _Samples(
        [{"image": np.full((32, 32, 3), 255, np.uint8), "depth": np.ones((32, 32), np.float32)}]
    )
    lite = build_model("disdepth-lite0")
    item = PreparedDataset(samples, 32, 32, False, seed=0, norm=lite.input_norm)[0]
    assert torch.allclose(item["image"], torch.ones(3, 32, 32))


def test_validation_scores_camera_aware_predictions_in_metres() -> None:
    from torch.utils.data import DataLoader

    from disdepth_core.train.validation import evaluate_depth

    k = _intrinsics(50.0, 50.0, 31.5, 31.5)
    samples = _Samples(
        [{"image": np.zeros((64, 64, 3), np.uint8), "depth": np.full((64, 64), 3.0, np.float32), "K": k}]
    )
    loader = DataLoader(PreparedDataset(samples, 64, 64, False, seed=0, canonical_focal=100.0), batch_size=1)
    # A perfect canonical predictor answers 3 m * 100 / 50 = 6; scored in metres that is exact.
    metrics = evaluate_depth(
        lambda x: torch.full((x.shape[0], 1, 64, 64), 6.0), loader, torch.device("cpu"), 10.0
    )
    assert metrics["abs_rel"] == pytest.approx(0.0, abs=1e-6)


def _constant_model(canonical_focal: float):
    """A disdepth model whose depth is the mean of its uniform bins whatever the image: (min + max) / 2."""
    model = build_model("hu-lite", min_depth=0.5, max_depth=7.5, canonical_focal_px=canonical_focal).eval()
    for layer in (model.head.logits[-1], model.head.widths[-1]):
        torch.nn.init.zeros_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    return model


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".safetensors", ".onnx"])
def test_runtime_rescales_a_model_trained_for_one_focal_on_another_camera(tmp_path, suffix: str) -> None:
    """The constant model predicts 4 m of canonical depth for f_c = 64 px at its 64 x 64 input: the wall
    it saw at 4 m with fx_in = 64. The same picture from a camera with twice the focal length shows a wall
    twice as far; the same camera at twice the resolution (fx doubled) shows the same wall."""
    model = _constant_model(64.0)
    path = save_model(tmp_path / "constant.safetensors", model, {"input_height": 64, "input_width": 64})
    if suffix == ".onnx":
        from disdepth_core.export.onnx_export import export_onnx

        path = export_onnx(model, tmp_path / "constant.onnx", 64, 64, trained=False).path
    estimator = load_estimator(path, device="cpu", threads=1)
    assert estimator.info.canonical_focal_px == 64.0
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    np.testing.assert_allclose(estimator.predict(image, fx=64.0).depth, 4.0, rtol=1e-5)
    np.testing.assert_allclose(estimator.predict(image, fx=128.0).depth, 8.0, rtol=1e-5)
    large = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
    np.testing.assert_allclose(estimator.predict(large, fx=128.0).depth, 4.0, rtol=1e-5)
    np.testing.assert_allclose(estimator.predict(image).depth, 4.0, rtol=1e-5)  # no fx: training focal


def test_distill_converts_a_metric_teacher_to_the_student_convention() -> None:
    from disdepth_core.models.teachers.spec import TeacherSpec
    from disdepth_core.train.acclimated import TeacherBundle
    from disdepth_core.train.config import DistillConfig, LossConfig
    from disdepth_core.train.stages.distill import DistillStage

    teacher = _constant_model(0.0)  # plain metric teacher: 4 m everywhere
    student = build_model("disdepth-lite0", max_depth=20.0, canonical_focal_px=100.0)
    stage = DistillStage(
        student,
        TeacherBundle(teacher, None, TeacherSpec("checkpoint", Path("teacher"), "teacher")),
        LossConfig(),
        DistillConfig(ghost=False),
    )
    image = torch.zeros(2, 3, 64, 64)  # student ([-1, 1]) normalised; the teacher sees ImageNet statistics
    depth = stage.teacher_depth(image)
    torch.testing.assert_close(depth, torch.full_like(depth, 4.0))
    converted = stage.to_student_depth(depth, torch.tensor([50.0, 200.0]), stage.teacher_depth_focal)
    torch.testing.assert_close(converted[:, 0, 0, 0], torch.tensor([8.0, 2.0]))
    with pytest.raises(ValueError, match="intrinsics K"):
        stage.to_student_depth(depth, None, stage.teacher_depth_focal)


def test_label_free_acclimation_targets_the_metric_teachers_depth_at_the_students_focal() -> None:
    from disdepth_core.train.config import LossConfig
    from disdepth_core.train.stages.acclimate import AcclimateStage

    student = build_model("disdepth-lite0", max_depth=20.0, canonical_focal_px=100.0)
    stage = AcclimateStage(_constant_model(0.0), student, LossConfig(), target="teacher")  # teacher: 4 m
    targets = []
    stage.objective.forward = lambda prediction, target: targets.append(target) or (target.sum(), {})
    stage({"image": torch.zeros(2, 3, 64, 64), "fx_in": torch.tensor([50.0, 400.0], dtype=torch.float64)})
    torch.testing.assert_close(targets[0][:, 0, 0, 0], torch.tensor([8.0, 1.0]))  # 4 m * 100 / fx_in


def test_label_free_acclimation_converts_a_camera_aware_teachers_depth() -> None:
    """A teacher predicting depth for its own canonical focal (200 px) is converted to the student's
    (100 px): 4 m at f = 200 is 2 m at f = 100, whatever the camera."""
    from disdepth_core.train.config import LossConfig
    from disdepth_core.train.stages.acclimate import AcclimateStage

    student = build_model("disdepth-lite0", max_depth=20.0, canonical_focal_px=100.0)
    stage = AcclimateStage(_constant_model(200.0), student, LossConfig(), target="teacher")
    targets = []
    stage.objective.forward = lambda prediction, target: targets.append(target) or (target.sum(), {})
    stage({"image": torch.zeros(2, 3, 64, 64), "fx_in": torch.tensor([50.0, 400.0], dtype=torch.float64)})
    torch.testing.assert_close(targets[0][:, 0, 0, 0], torch.tensor([2.0, 2.0]))
