"""`disdepth eval`: the metrics table / JSON on a tiny synthetic set, for .safetensors and exported .onnx."""

import json

import pytest
from train_fixtures import tiny_student

from disdepth_core.cli.main import main
from disdepth_core.models.checkpoint import save_model

SYNTHETIC = [
    "--dataset",
    "synthetic",
    "--synthetic-size",
    "3",
    "--height",
    "64",
    "--width",
    "96",
    "--no-progress",
]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("eval") / "student.safetensors"
    return save_model(path, tiny_student(), {"input_height": 64, "input_width": 64})


def test_eval_prints_the_standard_table(checkpoint, capsys):
    assert main(["eval", str(checkpoint), *SYNTHETIC]) == 0
    out = capsys.readouterr().out
    for header in ("AbsRel", "SqRel", "RMSE", "RMSE log", "log10", "SILog", "d1", "d2", "d3"):
        assert header in out
    assert "3 images" in out and "backend=torch" in out
    for mode in ("raw metric", "median scale", "LSQ scale", "LSQ scale+shift (inverse depth)"):
        assert mode in out


def test_eval_json(checkpoint, capsys):
    assert main(["eval", str(checkpoint), *SYNTHETIC, "--max-samples", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["raw"]["n_images"] == 2 and result["dataset"] == "synthetic"
    raw = result["raw"]
    assert {"abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog", "d1", "d2", "d3"} <= set(raw)
    assert 0.0 <= raw["d1"] <= raw["d2"] <= raw["d3"] <= 1.0
    assert result["median"]["abs_rel"] <= raw["abs_rel"] + 0.5 and 0 < result["coverage"]["prediction"] <= 1


def test_eval_onnx_matches_the_checkpoint(checkpoint, tmp_path, capsys):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from disdepth_core.export.onnx_export import export_onnx
    from disdepth_core.models.checkpoint import load_model

    model, _ = load_model(checkpoint)
    onnx_path = export_onnx(model, tmp_path / "student.onnx", 64, 64).path
    results = []
    for path in (checkpoint, onnx_path):  # fp32 both (auto may pick bf16 for the ONNX file on this CPU)
        assert main(["eval", str(path), *SYNTHETIC, "--precision", "fp32", "--json"]) == 0
        results.append(json.loads(capsys.readouterr().out))
    for mode in ("raw", "median", "lsq_scale", "lsq_scale_shift_inv"):
        assert results[0][mode]["abs_rel"] == pytest.approx(results[1][mode]["abs_rel"], rel=1e-3, abs=1e-4)


def test_eval_errors_name_what_is_missing(checkpoint, tmp_path, capsys):
    assert main(["eval", str(checkpoint), "--dataset", "nyu", "--data-root", str(tmp_path)]) == 2
    assert "nyu_depth_v2_labeled.mat" in capsys.readouterr().err
    assert main(["eval", str(checkpoint), "--dataset", "kitti", "--data-root", str(tmp_path)]) == 2
    assert "list file" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing.safetensors"), *SYNTHETIC]) == 2
