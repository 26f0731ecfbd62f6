"""Foundation teachers through `disdepth acclimate` and `disdepth distill` (tiny random HF models, ONNX)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from train_fixtures import synthetic_batch, tiny_config, tiny_student, train_on_batch

from disdepth_core.cli.main import main
from disdepth_core.models.checkpoint import ACCLIMATED_KEY, load_model, save_model
from disdepth_core.train.acclimated import load_acclimated
from disdepth_core.train.runner import build_stage, run_stage

transformers = pytest.importorskip("transformers", reason="transformers is not installed")

from teacher_fixtures import save_tiny_hf  # noqa: E402

# How each tiny teacher is opened: DPT does not declare its output; it is given with a fixed scale.
TEACHERS = {
    "depth_anything_metric": {},
    "dpt": {"teacher_options.output": "relative_inverse_depth", "teacher_options.scale": "'fixed:0.5,0.1'"},
    "glpn": {},
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("foundation")
    dirs = {kind: save_tiny_hf(kind, root / kind) for kind in TEACHERS}
    student = save_model(root / "student.safetensors", tiny_student())
    return root, dirs, student


def _teacher_keys(path):
    with safe_open(str(path), framework="pt") as handle:
        return [k for k in handle.keys() if k.startswith("teacher.")]  # noqa: SIM118


@pytest.mark.parametrize("kind", list(TEACHERS))
def test_acclimate_and_distill_with_a_hugging_face_teacher(setup, tmp_path, kind):
    _, dirs, student = setup
    teacher = {"teacher": f"hf:{dirs[kind]}", **TEACHERS[kind]}
    acclimated = run_stage(tiny_config(tmp_path / "acc", "acclimate", student=str(student), **teacher)).last
    assert not _teacher_keys(acclimated), "the teacher's weights stay in its directory"
    with safe_open(str(acclimated), framework="pt") as handle:
        header = json.loads(handle.metadata()[ACCLIMATED_KEY])["teacher"]
    assert header["spec"] == str(dirs[kind].resolve()) and header["weights_stored"] is False
    ghost, _ = load_acclimated(acclimated)
    reference = transformers.AutoModelForDepthEstimation.from_pretrained(dirs[kind])
    for (name, value), expected in zip(
        ghost.teacher.hf_model.state_dict().items(), reference.state_dict().values(), strict=True
    ):
        assert torch.equal(value, expected), name
    sets = {
        "teacher": str(acclimated),
        "data.unlabeled": "{kind: synthetic, size: 4, seed: 9, batch_size: 2}",
    }
    result = run_stage(tiny_config(tmp_path / "kd", "distill", **sets))
    history = [json.loads(line) for line in (tmp_path / "kd" / "history.jsonl").read_text().splitlines()]
    assert all({"feature_kd", "output_kd"} <= set(r) for r in history if r["tag"] == "train")
    assert load_model(result.last)[1]["teacher"] == str(acclimated)


def test_acclimated_teacher_refuses_changed_teacher_files(setup, tmp_path):
    student = setup[2]
    directory = save_tiny_hf("glpn", tmp_path / "glpn")
    acclimated = run_stage(
        tiny_config(tmp_path / "acc", "acclimate", student=str(student), teacher=str(directory))
    ).last
    save_tiny_hf("glpn", directory, seed=1)  # other weights in the same directory
    with pytest.raises(ValueError, match="changed since acclimation"):
        load_acclimated(acclimated)


def test_finetuned_hugging_face_encoder_is_stored_with_the_ghost(setup, tmp_path):
    _, dirs, student = setup
    sets = {"teacher": f"hf:{dirs['glpn']}", "acclimate.freeze_teacher_encoder": "false"}
    stage = build_stage(tiny_config(tmp_path / "ft", "acclimate", student=str(student), **sets))
    head = [p for m in stage.ghost.teacher.head_modules() for p in m.parameters()]
    assert head and not any(p.requires_grad for p in head), "the teacher's own head is not on the ghost path"
    assert any(p.requires_grad for p in stage.ghost.teacher.hf_model.glpn.parameters())
    result = run_stage(tiny_config(tmp_path / "ft", "acclimate", student=str(student), **sets))
    assert _teacher_keys(result.last), "a fine-tuned encoder is saved with the ghost"
    loaded = load_acclimated(result.last)[0].teacher.hf_model.glpn.state_dict()
    original = transformers.AutoModelForDepthEstimation.from_pretrained(dirs["glpn"]).glpn.state_dict()
    assert any(not torch.equal(v, original[k]) for k, v in loaded.items()), "fine-tuned weights are loaded"


def test_label_free_acclimation_learns_the_teachers_own_depth(setup, tmp_path):
    _, dirs, student = setup
    sets = {"teacher": f"hf:{dirs['depth_anything_metric']}", "acclimate.target": "teacher"}
    stage = build_stage(tiny_config(tmp_path / "lf", "acclimate", student=str(student), **sets))
    batch = synthetic_batch()
    batch["depth"] = torch.zeros_like(batch["depth"])  # no ground truth: the target must not come from here
    losses, parts = train_on_batch(stage, batch, 6)
    assert losses[-1] < losses[0] and parts["silog"] > 0
    with pytest.raises(ValueError, match="frozen teacher encoder"):
        build_stage(
            tiny_config(
                "unused",
                "acclimate",
                student=str(student),
                **sets,
                **{"acclimate.freeze_teacher_encoder": "false"},
            )
        )


def test_relative_teacher_scale_fitted_on_training_frames(tmp_path, capsys):
    directory = save_tiny_hf("depth_anything_relative", tmp_path / "rel")
    sets = {"teacher": f"hf:{directory}", "teacher_options.scale": "fit", "teacher_options.fit_frames": 3}
    stage = build_stage(tiny_config(tmp_path / "fit", "distill", **sets, **{"distill.ghost": "false"}))
    scale = stage.teacher.scale
    assert scale.kind == "relative_inverse_depth" and "fit on 3 training frames" in scale.source
    assert "teacher scale: relative_inverse_depth" in capsys.readouterr().out
    with pytest.raises(ValueError, match="declare a metric scale source"):
        build_stage(
            tiny_config(tmp_path / "x", "distill", teacher=f"hf:{directory}", **{"distill.ghost": "false"})
        )


def test_onnx_teacher_distills_by_output_kd_only(setup, tmp_path, capsys):
    from disdepth_core.export.onnx_export import export_onnx

    export_onnx(tiny_student(), tmp_path / "teacher.onnx", 64, 64)
    unlabeled = "{kind: synthetic, size: 4, seed: 9, batch_size: 2}"
    sets = {"teacher": str(tmp_path / "teacher.onnx"), "data.unlabeled": unlabeled, "distill.ghost": "false"}
    with pytest.raises(ValueError, match="exposes no features"):
        build_stage(tiny_config("unused", "distill", **sets))
    run_stage(tiny_config(tmp_path / "kd", "distill", **sets, **{"distill.feature_kd": "none"}))
    history = [json.loads(line) for line in (tmp_path / "kd" / "history.jsonl").read_text().splitlines()]
    assert all("output_kd" in r and "feature_kd" not in r for r in history if r["tag"] == "train")
    code = main(
        ["acclimate", "config/train/acclimate_synthetic.yaml", "--teacher", str(tmp_path / "teacher.onnx"),
         "--student", str(setup[2]), "--out", str(tmp_path / "acc")]
    )  # fmt: skip
    assert code == 2 and "exposes no features" in capsys.readouterr().err
