"""Teacher specs: kinds, Hugging Face teachers (tiny random models saved locally), ONNX teachers and cards."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from runtime_fixtures import foreign_onnx

from disdepth_core.models import build_model
from disdepth_core.models.checkpoint import save_model
from disdepth_core.models.teachers.hf_teacher import processor_size
from disdepth_core.models.teachers.onnx_teacher import ONNXDepthTeacher
from disdepth_core.models.teachers.output import MetricScale
from disdepth_core.models.teachers.spec import (
    open_teacher,
    output_kind,
    parse_teacher_spec,
    readme_licence,
    teacher_digest,
    teacher_licence,
)
from disdepth_core.teacher_card import TeacherCard
from disdepth_core.train.batches import normalize_image

transformers = pytest.importorskip("transformers", reason="transformers is not installed")

from teacher_fixtures import HF_KINDS, save_tiny_hf  # noqa: E402

DECLARED = {
    "depth_anything_metric": "metric_depth",
    "depth_anything_relative": "relative_inverse_depth",
    "glpn": "metric_depth",
    "zoedepth": "metric_depth",
}


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    return {kind: save_tiny_hf(kind, root / kind) for kind in HF_KINDS}


@pytest.mark.parametrize("kind", HF_KINDS)
def test_hf_teachers_give_features_raw_output_and_metric_depth(hf_dirs, kind):
    spec = parse_teacher_spec(f"hf:{hf_dirs[kind]}")
    assert spec.kind == "hf" and spec.has_features
    output = DECLARED.get(kind, "relative_inverse_depth")
    scale = None if output == "metric_depth" else MetricScale(output, 0.5, 0.1, "test")
    teacher = open_teacher(spec, output="auto" if kind in DECLARED else output, scale=scale, max_depth=10.0)
    assert output_kind(teacher) == output
    x = torch.randn(2, 3, 64, 64)  # square: transformers' plain-ViT DPT needs square inputs
    with torch.no_grad():
        features = teacher.encode(x)
        raw = teacher.raw_output(x)
        prediction = teacher(x)
        both = teacher.encode_and_predict(x)
    for feature, channels, stride in zip(
        features, teacher.feature_channels, teacher.feature_strides, strict=True
    ):
        assert feature.shape == (2, channels, 64 // stride, 64 // stride)
    assert raw.shape == prediction.depth.shape == (2, 1, 64, 64)
    expected = (scale or MetricScale()).to_metric(raw, teacher.min_depth, teacher.max_depth)
    assert torch.allclose(prediction.depth, expected)
    assert torch.allclose(both[1].depth, prediction.depth) and len(both[0]) == len(features)
    assert teacher_licence(spec) == "apache-2.0"


def test_dpt_must_declare_its_output_and_relative_teachers_need_a_scale(hf_dirs):
    with pytest.raises(ValueError, match=r"cannot be loaded.*metric"):
        open_teacher(parse_teacher_spec(str(hf_dirs["dpt"])))
    with pytest.raises(ValueError, match="declare a metric scale source"):
        open_teacher(parse_teacher_spec(f"hf:{hf_dirs['depth_anything_relative']}"))
    unscaled = open_teacher(
        parse_teacher_spec(f"hf:{hf_dirs['depth_anything_relative']}"), require_scale=False
    )
    with pytest.raises(ValueError, match="scale source"):
        unscaled(torch.randn(1, 3, 56, 56))


def test_processor_sizes_follow_the_transformers_rules():
    depth_anything = {
        "size": {"height": 518, "width": 518},
        "keep_aspect_ratio": True,
        "ensure_multiple_of": 14,
    }
    assert processor_size(depth_anything, 480, 640, 14) == (518, 686)
    dpt = {"size": {"height": 384, "width": 384}, "keep_aspect_ratio": False, "ensure_multiple_of": 1}
    assert processor_size(dpt, 480, 640, 16) == (384, 384)
    assert processor_size({"size_divisor": 32, "do_resize": True}, 481, 641, 32) == (480, 640)
    assert processor_size({}, 70, 100, 14) == (70, 98)


def test_spec_kinds_and_errors(tmp_path, hf_dirs):
    assert parse_teacher_spec(str(hf_dirs["glpn"])).kind == "hf"  # a directory with config.json
    checkpoint = save_model(tmp_path / "t.safetensors", build_model("hu-lite"))
    assert parse_teacher_spec(str(checkpoint)).kind == "checkpoint"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        parse_teacher_spec(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"without config\.json"):
        parse_teacher_spec(str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match=r"no config\.json"):
        parse_teacher_spec(f"hf:{tmp_path / 'empty'}")
    (tmp_path / "model.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match="unknown file type"):
        parse_teacher_spec(str(tmp_path / "model.pt"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="cannot be loaded"):
        open_teacher(parse_teacher_spec(f"hf:{broken}"))


def test_digest_follows_the_files_and_licence_the_model_card(tmp_path):
    directory = save_tiny_hf("glpn", tmp_path / "glpn", readme_licence=None)
    spec = parse_teacher_spec(f"hf:{directory}")
    before = teacher_digest(spec)
    assert "not recorded" in teacher_licence(spec)
    (directory / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n")
    assert teacher_licence(spec) == "cc-by-nc-4.0" and teacher_digest(spec) == before
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, "decoder_hidden_size": 16}, indent=1))
    assert teacher_digest(spec) != before
    assert readme_licence("no front matter") == ""


def test_onnx_teacher_applies_card_layout_normalisation_and_scale(tmp_path):
    card = {"mean": [0.1, 0.2, 0.3], "std": [0.5, 0.5, 0.5], "licence": "research only"}
    path = foreign_onnx(tmp_path / "mean.onnx", 32, 48, **card)
    spec = parse_teacher_spec(str(path))
    assert spec.kind == "onnx" and not spec.has_features and teacher_licence(spec) == "research only"
    with pytest.raises(ValueError, match="declare a metric scale source"):
        open_teacher(spec)
    scale = MetricScale("relative_depth", 4.0, 0.5, "test")
    teacher = open_teacher(spec, scale=scale, max_depth=20.0)
    rgb = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    raw = teacher.raw_output(normalize_image(rgb)[None])[0, 0].numpy()
    expected = ((rgb / 255.0 - np.array(card["mean"])) / 0.5).mean(axis=2)
    assert np.allclose(raw, expected, atol=1e-4)
    depth = teacher(normalize_image(rgb)[None]).depth[0, 0].numpy()
    assert np.allclose(depth, np.clip(4.0 * expected + 0.5, teacher.min_depth, 20.0), atol=1e-3)


def test_teacher_card_errors(tmp_path):
    path = tmp_path / "card.json"
    path.write_text(json.dumps({"input_height": 8, "input_width": 8, "output": "depth"}))
    with pytest.raises(ValueError, match="missing key"):
        TeacherCard.read(path)
    path.write_text(json.dumps({"input_height": 8, "input_width": 8, "output": "depth", "licence": "x"}))
    with pytest.raises(ValueError, match="output"):
        TeacherCard.read(path)
    with pytest.raises(FileNotFoundError, match="write one beside"):
        TeacherCard.read(tmp_path / "absent.json")


def test_onnx_teacher_exported_from_our_model_matches_it():
    from runtime_fixtures import exported, model

    student = model("disdepth-mbv2")
    teacher = open_teacher(parse_teacher_spec(str(exported("disdepth-mbv2"))), max_depth=student.max_depth)
    assert isinstance(teacher, ONNXDepthTeacher) and output_kind(teacher) == "metric_depth"
    x = normalize_image(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8))[None]
    with torch.no_grad():
        assert torch.allclose(teacher(x).depth, student(x).depth, atol=1e-3)
