"""Checkpoints: safetensors round trip, header and sidecar, clear errors naming the file."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from disdepth_core.models import build_model
from disdepth_core.models.checkpoint import load_model, read_header, save_model


def test_round_trip_gives_same_outputs(tmp_path) -> None:
    torch.manual_seed(0)
    model = build_model("disdepth-mbv2", width_mult=0.5, decoder_width=32, n_bins=8, max_depth=80.0)
    with torch.no_grad():  # move BN statistics away from their defaults
        model.train()(torch.randn(2, 3, 64, 64))
    model.eval()
    path = save_model(tmp_path / "student.safetensors", model, {"epoch": 3, "dataset": "kitti"})
    loaded, metadata = load_model(path)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for a, b in zip(model(x), loaded(x), strict=True):
            assert torch.equal(a, b)
    assert metadata == {"epoch": 3, "dataset": "kitti"}
    assert loaded.name == "disdepth-mbv2" and loaded.config == model.config and loaded.max_depth == 80.0
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["model"] == "disdepth-mbv2" and sidecar == read_header(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "student.json",
        "student.safetensors",
    ]  # no temp files


def test_corrupt_file_error_names_the_file(tmp_path) -> None:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00not a safetensors file")
    with pytest.raises(ValueError, match=r"broken\.safetensors"):
        load_model(path)


def test_truncated_checkpoint_error_names_the_file(tmp_path) -> None:
    path = save_model(tmp_path / "m.safetensors", build_model("hu-lite", n_bins=4))
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(ValueError, match=r"m\.safetensors"):
        load_model(path)


def test_missing_and_foreign_files(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"absent\.safetensors"):
        load_model(tmp_path / "absent.safetensors")
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(ValueError, match=r"foreign\.safetensors.*not a disdepth checkpoint"):
        load_model(foreign)
