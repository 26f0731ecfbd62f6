"""The demo end to end in a short mode: real DepthNode, real rclpy topics, summary.json + preview.png."""

import json
from pathlib import Path

import pytest

pytest.importorskip("rclpy")
pytest.importorskip("onnxruntime")

from disdepth_core.cli.main import main
from disdepth_ros.commands.demo import session as demo
from disdepth_ros.commands.demo.session import DemoConfig, run_demo
from disdepth_ros.executors import SpinThreadError


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """An untrained hu-lite student exported to ONNX (static 64x96 input; the node resizes frames)."""
    torch = pytest.importorskip("torch")
    from disdepth_core.export.onnx_export import export_onnx
    from disdepth_core.models import build_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    export_onnx(build_model("hu-lite", max_depth=10.0), path, 64, 96, trained=False)
    return path


def test_demo_end_to_end(tiny_model, tmp_path):
    config = DemoConfig(out_dir=tmp_path, frames=8, height=64, width=96, rate_hz=20.0, model=tiny_model)
    summary = run_demo(config, progress=False)
    assert config.bag_path.is_dir() and summary["bag_created"]
    frames = summary["frames"]
    assert frames["in"] == 8
    assert 1 <= frames["out_depth"] <= 8 and frames["out_points"] >= 1
    assert frames["out_camera_info"] == frames["out_depth"]
    assert summary["metrics"]["raw"]["n_images"] == frames["out_depth"]  # every output matched GT by stamp
    assert summary["latency_ms"]["p50"] > 0
    scale = summary["scale"]  # ground_plane by default, the recording's mount reaching the node
    assert scale["source"] == "ground_plane"
    assert (
        scale["mount"].startswith("camera mount from") and "m above the floor" in scale["mount"]
    ) or "TF" in scale["mount"]
    assert scale["last"]["source"] in ("ground_plane", "model") and scale["last"]["reason"]
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["frames"] == frames and saved["model"]["backend"] in ("onnxruntime", "openvino")
    assert (tmp_path / "preview.png").stat().st_size > 10_000
    again = run_demo(config, progress=False)  # the cached bag is reused
    assert not again["bag_created"]


def test_demo_cli(tiny_model, tmp_path, capsys):
    assert main(["demo", "--quick", "--frames", "4", "--out", str(tmp_path), "--model", str(tiny_model)]) == 0
    printed = capsys.readouterr().out
    assert "frames in 4" in printed and "AbsRel" in printed and "UNTRAINED" in printed


def test_a_missing_model_is_one_line_before_anything_runs(tmp_path, capfd):
    """Said once (not also logged by the node), about --model, with no reinstall advice, before the
    recording is rendered."""
    missing = tmp_path / "missing.onnx"
    assert main(["demo", "--quick", "--out", str(tmp_path / "demo"), "--model", str(missing)]) == 2
    err = capfd.readouterr().err.strip()
    assert (
        err == f"disdepth demo: error: --model {missing} is not a model file; give an .onnx, .engine or "
        ".safetensors file, or omit --model for the shipped model"
    )
    assert not (tmp_path / "demo").exists()


def test_a_dead_spin_thread_ends_the_demo_with_its_exception(tiny_model, tmp_path, monkeypatch):
    """The recorder's callback raises in its executor thread: the demo stops with that error instead of
    playing on to a summary of nothing."""

    def broken_recorder(self, name):
        def callback(msg) -> None:
            raise RuntimeError(f"recorder for {name} broke")

        return callback

    monkeypatch.setattr(demo._Session, "_recorder", broken_recorder)
    config = DemoConfig(out_dir=tmp_path, frames=8, height=64, width=96, rate_hz=20.0, model=tiny_model)
    with pytest.raises(SpinThreadError, match=r"recorder for \S+ broke") as raised:
        run_demo(config, progress=False)
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert not (tmp_path / "summary.json").exists()
