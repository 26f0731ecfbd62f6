"""distill-bag's fidelity figures: the student scored against its teacher's output through DepthScorer,
on a held-out cache and on extra RGB-D frames, independent of the teacher's metric scale."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from disdepth_core.files import write_json
from disdepth_core.models.normalization import IMAGENET_MEAN, IMAGENET_STD
from disdepth_core.models.teachers.output import MetricScale
from disdepth_core.models.teachers.spec import open_teacher, parse_teacher_spec
from disdepth_core.recipes.distill_bag.cache import FrameCache
from disdepth_core.recipes.distill_bag.evaluate import EvalFrames, evaluate_heldout
from disdepth_core.recipes.distill_bag.report import fidelity_line, summary_lines
from disdepth_core.runtime import load_estimator

SIZE = 64


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """A tiny exported student; its own ONNX file, declared relative by a card, is also the teacher."""
    from train_fixtures import tiny_student

    from disdepth_core.export.onnx_export import export_onnx

    root = tmp_path_factory.mktemp("fidelity")
    path = export_onnx(tiny_student(), root / "student.onnx", SIZE, SIZE).path
    card = {"input_height": SIZE, "input_width": SIZE, "layout": "NCHW", "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD), "output": "relative_depth", "licence": "test-only",
            "output_name": "depth"}  # fmt: skip
    (root / "student.teacher.json").write_text(json.dumps(card))
    return path


def _images(n: int, seed: int) -> list[np.ndarray]:
    from disdepth_core.data.synthetic import render_scene

    return [render_scene(seed + i, SIZE, SIZE, "room")["image"] for i in range(n)]


def _labels(scale: MetricScale, frames: int, max_depth: float) -> dict:
    """``labels.json`` content: every frame held out with ``scale``, depth range 0.1-``max_depth`` m."""
    split = {str(i): {"split": "heldout", "scale": scale.to_dict()} for i in range(frames)}
    return {"min_depth": 0.1, "max_depth": max_depth, "global_scale": scale.to_dict(), "frames": split}


def _cache(root, images, raws):
    """A distill-bag cache in its documented format: every frame held out, raw = the given output."""
    for i, (image, raw) in enumerate(zip(images, raws, strict=True)):
        np.savez(root / "frames" / f"{i:06d}.npz", image=image, raw=raw, stamp=np.int64(i),
                 bag=np.int64(0), native_hw=np.asarray(image.shape[:2]))  # fmt: skip
    frames = [{"id": i, "bag": 0, "stamp_ns": i, "has_depth": False, "K": None} for i in range(len(images))]
    write_json(root / "index.json", {"key": {}, "frames": frames})
    return FrameCache(root)


def test_fidelity_is_the_agreement_with_the_teacher_whatever_its_scale(student, tmp_path):
    """The teacher says exactly half the student's depth: raw AbsRel 1, but the per-image aligned
    fidelity is perfect; a teacher with another shape is not."""
    estimator = load_estimator(student)
    images = _images(4, 0)
    own = [estimator.predict(image).depth for image in images]
    (tmp_path / "same" / "frames").mkdir(parents=True)
    (tmp_path / "other" / "frames").mkdir(parents=True)
    labels = _labels(MetricScale("relative_depth", 0.5, 0.0, "test"), 4, 10.0)
    same = evaluate_heldout(student, _cache(tmp_path / "same", images, own), labels, 1).summary
    ramp = np.linspace(0.5, 2.0, SIZE, dtype=np.float32)[None, :]  # another shape: a left-right ramp
    other_raws = [depth * ramp for depth in own]
    other = evaluate_heldout(student, _cache(tmp_path / "other", images, other_raws), labels, 1).summary

    assert same["student_vs_teacher"]["raw"]["abs_rel"] == pytest.approx(1.0, rel=1e-3)
    fidelity = same["fidelity"]["heldout"]
    assert fidelity["median"]["abs_rel"] < 1e-3 and fidelity["median"]["d1"] == 1.0
    assert fidelity["lsq_scale_shift_inv"]["abs_rel"] < 1e-3  # relative teacher: scale+shift too
    assert (
        fidelity["frames"] == 4 and fidelity["coverage"] == 1.0 and fidelity["reference_range_m"] == [0.1, 10]
    )
    assert other["fidelity"]["heldout"]["median"]["abs_rel"] > 0.05
    assert same["eval_data"] is None and same["fidelity"]["eval_data"] is None
    line = fidelity_line(fidelity)
    assert line.startswith("median-aligned AbsRel 0.000 d1 1.000; scale+shift (inverse depth) AbsRel 0.000")
    assert "(4 frames, teacher 0.1-10 m as reference, coverage 100.0%)" in line
    assert summary_lines(same)[0].startswith("fidelity, student vs teacher on the held-out tail: median")

    metric = {**labels, "global_scale": {**labels["global_scale"], "kind": "metric_depth"}}
    assert (
        "lsq_scale_shift_inv"
        not in evaluate_heldout(student, FrameCache(tmp_path / "same"), metric, 1).summary["fidelity"][
            "heldout"
        ]
    )


def test_extra_evaluation_frames_per_source(student, tmp_path):
    """RGB-D frames of two sources: the teacher (the same network, at 0.5 x its output) runs on each whole
    frame; the student agrees with it up to scale, ground truth is 1.5 x the student's depth."""
    estimator = load_estimator(student)
    folder = tmp_path / "rgbd"
    folder.mkdir()
    for i, image in enumerate(_images(4, 10)):
        image = np.ascontiguousarray(np.repeat(np.repeat(image, 2, axis=0), 3, axis=1))  # 128 x 192
        depth = 1.5 * estimator.predict(image).depth
        np.savez(
            folder / f"{('alpha', 'beta')[i % 2]}_{i:03d}.npz", rgb=image, depth=depth, K=np.zeros((3, 3))
        )
    (tmp_path / "heldout" / "frames").mkdir(parents=True)
    images = _images(2, 0)
    scale = MetricScale("relative_depth", 0.5, 0.0, "test")
    labels = _labels(scale, 2, 50.0)
    cache = _cache(tmp_path / "heldout", images, [estimator.predict(i).depth for i in images])
    teacher = open_teacher(parse_teacher_spec(f"onnx:{student}"), require_scale=False)
    frames = EvalFrames([folder], teacher, scale, torch.device("cpu"))
    summary = evaluate_heldout(student, cache, labels, 1, frames).summary

    extra = summary["eval_data"]
    assert extra["frames"] == 4 and set(extra["by_source"]["student_vs_teacher"]) == {"alpha", "beta"}
    assert extra["student_vs_teacher"]["raw"]["abs_rel"] == pytest.approx(1.0, rel=0.05)
    assert summary["fidelity"]["eval_data"]["median"]["abs_rel"] < 0.03
    assert extra["student_vs_ground_truth"]["median"]["abs_rel"] < 1e-3
    assert extra["student_vs_ground_truth"]["raw"]["abs_rel"] == pytest.approx(1 / 3, rel=1e-3)
    assert extra["teacher_vs_ground_truth"]["raw"]["abs_rel"] == pytest.approx(2 / 3, rel=0.05)
    lines = summary_lines(summary)
    assert lines[1].startswith("fidelity, student vs teacher on --eval-data: median-aligned AbsRel")
    assert lines[2].startswith("student vs --eval-data ground truth: median scale: AbsRel 0.000")
    assert "(4 frames, GT 0.1-50 m, coverage 100.0%)" in lines[2]
