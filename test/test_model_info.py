"""ModelInfo: the props strings (the ONNX metadata format), the shipped model read and written back
identically, and ``from_model`` for a student and for a teacher card."""

from __future__ import annotations

from pathlib import Path

import pytest

from disdepth_core.model_files import ModelFileError
from disdepth_core.model_info import ModelInfo
from disdepth_core.teacher_card import TeacherCard

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "disdepth_default.onnx"


def _shipped_props() -> list[tuple[str, str]]:
    onnx = pytest.importorskip("onnx")
    return [(p.key, p.value) for p in onnx.load(str(SHIPPED), load_external_data=False).metadata_props]


def test_the_shipped_model_reads_and_writes_back_identically():
    props = _shipped_props()
    info = ModelInfo.from_props(dict(props), SHIPPED)
    assert list(info.to_props().items()) == props  # same keys, same order, same strings
    assert (info.name, info.input_height, info.input_width, info.min_depth, info.max_depth) == (
        "disdepth-mbv2",
        128,
        160,
        0.1,
        10.0,
    )
    assert info.mean == (0.485, 0.456, 0.406) and not info.camera_aware and not info.relative
    assert info.extra["licence"] == "the repository's licence; no third-party data or weights"


def test_props_strings_and_the_keys_written_only_when_set():
    info = ModelInfo(
        name="m",
        input_height=64,
        input_width=96,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.5, 1),
        min_depth=0,
        max_depth=80,
        color_order="bgr",
        dynamic=True,
        trained=False,
        precision="int8",
        canonical_focal_px=500,
        output_kind="relative_inverse_depth",
        extra={"licence": "x"},
    )
    assert list(info.to_props().items()) == [
        ("name", "m"),
        ("input_height", "64"),
        ("input_width", "96"),
        ("mean", "[0.5, 0.5, 0.5]"),
        ("std", "[0.25, 0.5, 1]"),
        ("color_order", "bgr"),
        ("min_depth", "0.0"),
        ("max_depth", "80.0"),
        ("dynamic", "true"),
        ("trained", "false"),
        ("precision", "int8"),
        ("recipe", ""),
        ("git_hash", ""),
        ("output_meaning", info.output_meaning),
        ("canonical_focal_px", "500.0"),
        ("output_kind", "relative_inverse_depth"),
        ("licence", "x"),
    ]
    assert ModelInfo.from_props(info.to_props(), "m.onnx") == info
    plain = ModelInfo(
        name="m", input_height=64, input_width=64, mean=(0, 0, 0), std=(1, 1, 1), max_depth=10, min_depth=1
    )
    assert "canonical_focal_px" not in plain.to_props() and "output_kind" not in plain.to_props()


def test_from_props_defaults_and_bad_values():
    required = {
        "name": "m",
        "input_height": "32",
        "input_width": "48",
        "mean": "[0, 0, 0]",
        "std": "[1, 1, 1]",
        "min_depth": "0.5",
        "max_depth": "20",
    }
    info = ModelInfo.from_props({**required, "color_order": "BGR", "note": "kept"}, "m.onnx")
    assert (info.color_order, info.dynamic, info.trained, info.precision) == ("bgr", False, True, "fp32")
    assert (info.canonical_focal_px, info.output_kind, info.extra) == (0.0, "metric_depth", {"note": "kept"})
    for key, value in [
        ("canonical_focal_px", "-1"),
        ("canonical_focal_px", "nan"),
        ("color_order", "rgba"),
        ("input_height", "x"),
        ("mean", "[1, 2]"),
        ("output_kind", "disparity"),
    ]:
        with pytest.raises(ModelFileError, match=r"m\.onnx: invalid disdepth metadata"):
            ModelInfo.from_props({**required, key: value}, "m.onnx")
    with pytest.raises(ModelFileError, match=r"missing disdepth metadata \['min_depth', 'max_depth'\]"):
        ModelInfo.from_props({k: v for k, v in required.items() if "depth" not in k}, "m.onnx")


def test_from_model_reads_a_student_and_takes_what_the_caller_knows():
    from disdepth_core.models import build_model

    student = build_model("disdepth-lite0", min_depth=0.2, max_depth=20.0, canonical_focal_px=87.5)
    info = ModelInfo.from_model(student, 80, 112, dynamic=True, recipe="r", extra={"teacher": "t"})
    assert (info.name, info.input_height, info.input_width) == ("disdepth-lite0", 80, 112)
    assert (info.mean, info.std) == ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))  # lite0's [-1, 1] input
    assert (info.min_depth, info.max_depth, info.canonical_focal_px) == (0.2, 20.0, 87.5)
    assert (info.dynamic, info.recipe, info.extra, info.precision) == (True, "r", {"teacher": "t"}, "fp32")


def test_from_model_reads_a_teacher_card():
    card = TeacherCard(
        64, 96, "relative_depth", "research only", mean=(0.1, 0.2, 0.3), extra={"max_depth": 30}
    )
    info = ModelInfo.from_model(card, 64, 96, name="pydnet", output_kind=card.output)
    assert (info.name, info.mean, info.std) == ("pydnet", (0.1, 0.2, 0.3), (1.0, 1.0, 1.0))
    assert (info.min_depth, info.max_depth, info.canonical_focal_px, info.relative) == (0.1, 30.0, 0.0, True)


def test_a_disdepth_export_is_its_own_teacher_card():
    from disdepth_core.models.teachers.onnx_teacher import read_onnx_card

    card = read_onnx_card(SHIPPED)
    assert (card.input_height, card.input_width, card.output, card.layout) == (
        128,
        160,
        "metric_depth",
        "NCHW",
    )
    assert (card.mean, card.std) == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert (card.name, card.input_name, card.output_name) == ("disdepth-mbv2", "image", "depth")
    assert card.licence == "the repository's licence; no third-party data or weights"
