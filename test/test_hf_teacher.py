"""HF teacher adapter on tiny randomly initialised transformers models saved locally (no download)."""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers", reason="transformers is not installed")

from disdepth_core.models import build_model  # noqa: E402
from disdepth_core.models.ghost import GhostDecoder  # noqa: E402
from disdepth_core.models.teachers.hf_teacher import HFDepthTeacher  # noqa: E402
from disdepth_core.models.teachers.output import MetricScale  # noqa: E402


def _save(config, directory) -> str:
    transformers.AutoModelForDepthEstimation.from_config(config).save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="module")
def depth_anything_dir(tmp_path_factory) -> str:
    backbone = transformers.Dinov2Config(
        hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64, patch_size=14,
        image_size=56, out_features=["stage1", "stage2", "stage3", "stage4"], reshape_hidden_states=False,
    )  # fmt: skip
    config = transformers.DepthAnythingConfig(
        backbone_config=backbone, patch_size=14, reassemble_hidden_size=32, neck_hidden_sizes=[8, 16, 32, 32],
        fusion_hidden_size=16, head_hidden_size=8, depth_estimation_type="metric", max_depth=10,
    )  # fmt: skip
    return _save(config, tmp_path_factory.mktemp("depth_anything"))


def test_depth_anything_round_trip(depth_anything_dir: str) -> None:
    teacher = HFDepthTeacher.from_pretrained(depth_anything_dir, max_depth=10.0, n_bins=8).eval()
    assert teacher.feature_source == "neck"
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        pred = teacher(x)
        features = teacher.encode(x)
    assert pred.depth.shape == (2, 1, 64, 96) and pred.bin_centers.shape == (2, 8)
    assert torch.all(pred.depth >= teacher.min_depth) and torch.all(pred.depth <= teacher.max_depth)
    assert torch.all(pred.uncertainty >= 0)
    for feature, channels, stride in zip(
        features, teacher.feature_channels, teacher.feature_strides, strict=True
    ):
        assert feature.shape == (2, channels, 64 // stride, 96 // stride)
    reference = transformers.AutoModelForDepthEstimation.from_pretrained(depth_anything_dir).eval()
    with torch.no_grad():
        raw = reference(pixel_values=torch.zeros(1, 3, 70, 70)).predicted_depth
    assert torch.allclose(teacher.hf_model(pixel_values=torch.zeros(1, 3, 70, 70)).predicted_depth, raw)


def test_hf_teacher_drives_ghost_decoder(depth_anything_dir: str) -> None:
    teacher = HFDepthTeacher.from_pretrained(depth_anything_dir)
    student = build_model("hu-lite")
    ghost = GhostDecoder(teacher, student).train()
    pred, acclimated = ghost(torch.randn(1, 3, 64, 64))
    assert pred.depth.shape == (1, 1, 64, 64)
    assert [f.shape[1] for f in acclimated] == list(student.feature_channels)


def test_glpn_hidden_states(tmp_path) -> None:
    config = transformers.GLPNConfig(
        hidden_sizes=[8, 16, 32, 32],
        depths=[1, 1, 1, 1],
        num_attention_heads=[1, 1, 2, 2],
        decoder_hidden_size=16,
    )
    teacher = HFDepthTeacher.from_pretrained(_save(config, tmp_path / "glpn"))
    assert teacher.feature_source == "hidden_states"
    assert teacher.feature_strides == (4, 8, 16, 32) and teacher.feature_channels == (8, 16, 32, 32)
    with torch.no_grad():
        assert teacher(torch.randn(1, 3, 64, 64)).depth.shape == (1, 1, 64, 64)


def test_relative_teacher_needs_declared_scale(tmp_path) -> None:
    config = transformers.DPTConfig(
        hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64, image_size=64,
        patch_size=16, neck_hidden_sizes=[8, 16, 32, 32], fusion_hidden_size=16,
        backbone_out_indices=[0, 1, 2, 3],
    )  # fmt: skip
    directory = _save(config, tmp_path / "dpt")
    with pytest.raises(ValueError, match="metric"):
        HFDepthTeacher.from_pretrained(directory)
    unscaled = HFDepthTeacher.from_pretrained(directory, output="relative_inverse_depth")
    x = torch.randn(1, 3, 64, 64)  # transformers' plain-ViT DPT needs square inputs
    with pytest.raises(ValueError, match="scale source"), torch.no_grad():
        unscaled(x)
    scale = MetricScale("relative_inverse_depth", 0.5, 0.1, "test")
    teacher = HFDepthTeacher.from_pretrained(directory, output="relative_inverse_depth", scale=scale)
    with torch.no_grad():
        pred, raw = teacher(x), teacher.raw_output(x)
    assert pred.depth.shape == (1, 1, 64, 64)
    expected = (1.0 / (0.5 * raw + 0.1).clamp_min(1 / teacher.max_depth)).clamp(
        teacher.min_depth, teacher.max_depth
    )
    assert torch.allclose(pred.depth, expected)
