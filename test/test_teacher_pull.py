"""`disdepth teacher pull|list|info` against a fake local Hugging Face hub cache (never the network)."""

from __future__ import annotations

import json

import pytest

from disdepth_core.cli.main import main
from disdepth_core.models.teachers.hub import KNOWN_TEACHERS, pull_teacher
from disdepth_core.models.teachers.spec import (
    PULL_RECORD,
    open_teacher,
    output_kind,
    parse_teacher_spec,
)

transformers = pytest.importorskip("transformers", reason="transformers is not installed")

from teacher_fixtures import save_tiny_hf  # noqa: E402

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _fake_hub(cache, name, kind, readme_licence="apache-2.0", weights=True):
    """The layout huggingface_hub's cache uses: models--ORG--REPO/{refs/main, snapshots/COMMIT/...}."""
    repo = cache / ("models--" + KNOWN_TEACHERS[name].repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / COMMIT
    save_tiny_hf(kind, snapshot, readme_licence=readme_licence)
    (snapshot / "pytorch_model.bin").write_bytes(b"pickle: must never be copied")
    if not weights:
        (snapshot / "model.safetensors").unlink()
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    return snapshot


def test_pull_copies_config_weights_and_records_licence_and_output(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _fake_hub(tmp_path / "cache", "depth-anything-v2-small", "depth_anything_relative")
    out = tmp_path / "teachers" / "da2s"
    argv = [
        "teacher",
        "pull",
        "depth-anything-v2-small",
        "--out",
        str(out),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    assert main([*argv, "--offline"]) == 0
    assert f"hf:{out}" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "config.json",
        PULL_RECORD,
        "model.safetensors",
    ]
    record = json.loads((out / PULL_RECORD).read_text())
    assert record["repo_id"] == "depth-anything/Depth-Anything-V2-Small-hf" and record["snapshot"] == COMMIT
    assert record["licence"] == "apache-2.0" and record["output"] == "relative_inverse_depth"
    teacher = open_teacher(parse_teacher_spec(f"hf:{out}"), require_scale=False)
    assert output_kind(teacher) == "relative_inverse_depth"
    assert main([*argv, "--offline"]) == 2  # the directory exists: never overwritten
    assert "already exists" in capsys.readouterr().err


def test_pull_records_the_output_dpt_configs_do_not_declare(tmp_path):
    _fake_hub(tmp_path / "cache", "dpt-large", "dpt", readme_licence=None)
    out = pull_teacher("dpt-large", tmp_path / "dpt", cache_dir=tmp_path / "cache", offline=True)
    record = json.loads((out / PULL_RECORD).read_text())
    assert "not stated" in record["licence"] and "Intel/dpt-large" in record["licence"]
    teacher = open_teacher(parse_teacher_spec(str(out)), require_scale=False)  # output from the record
    assert output_kind(teacher) == "relative_inverse_depth"


def test_pull_errors(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown teacher 'nope'; known: depth-anything-v2-base"):
        pull_teacher("nope", tmp_path / "x")
    with pytest.raises(RuntimeError, match="cannot fetch depth-anything/Depth-Anything-V2-Base-hf"):
        pull_teacher("depth-anything-v2-base", tmp_path / "x", cache_dir=tmp_path / "empty", offline=True)
    _fake_hub(tmp_path / "cache", "glpn-nyu", "glpn", weights=False)
    with pytest.raises(ValueError, match="safetensors"):
        pull_teacher("glpn-nyu", tmp_path / "glpn", cache_dir=tmp_path / "cache", offline=True)
    assert not (tmp_path / "glpn").exists()
    assert main(["teacher", "list"]) == 0
    assert "depth-anything-v2-metric-indoor-small" in capsys.readouterr().out


def test_teacher_info(tmp_path, capsys):
    directory = save_tiny_hf("glpn", tmp_path / "glpn")
    assert main(["teacher", "info", str(directory)]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert lines["kind"] == "hf" and lines["output"] == "metric_depth" and lines["licence"] == "apache-2.0"
    assert lines["features"].startswith("channels [8, 16, 32, 32], strides [4, 8, 16, 32]")
