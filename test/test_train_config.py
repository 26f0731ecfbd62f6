"""Training config: YAML recipes, dotted overrides, CLI shortcuts, strict validation."""

import argparse
from pathlib import Path

import pytest

from disdepth_core.cli.training_args import add_common_arguments, collect_overrides
from disdepth_core.train.config import TrainConfig, apply_override, load_config

RECIPES = sorted((Path(__file__).resolve().parents[1] / "config" / "train").glob("*.yaml"))


def test_defaults_validate():
    config = load_config()
    assert isinstance(config, TrainConfig)
    assert config.stage == "train" and config.data.height % 16 == 0


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_shipped_recipes_load(recipe):
    config = load_config(recipe)
    assert config.stage in ("train", "acclimate", "distill")


def test_yaml_and_dotted_overrides(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("stage: distill\noptim: {lr: 1e-3, epochs: 3}\ndata: {train: {size: 16}}\n")
    config = load_config(
        path,
        [
            "optim.lr=3e-4",
            "data.train.kinds=[room, street]",
            "distill.ghost=false",
            "model.overrides={lgconv: false, width_mult: 0.5}",
            "data.unlabeled.kind=synthetic",
        ],
    )
    assert config.stage == "distill"
    assert config.optim.lr == pytest.approx(3e-4) and config.optim.epochs == 3
    assert config.data.train.size == 16 and config.data.train.kinds == ["room", "street"]
    assert config.distill.ghost is False
    assert config.model.overrides == {"lgconv": False, "width_mult": 0.5}
    assert config.data.unlabeled.kind == "synthetic"


def test_yaml11_exponent_float_is_accepted(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("optim: {lr: 1e-3}\n")  # YAML 1.1 reads this as a string
    assert load_config(path).optim.lr == pytest.approx(1e-3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("optim: {lrr: 1}\n", "unknown key"),
        ("optim: {epochs: two}\n", "optim.epochs must be an integer"),
        ("data: {height: 100}\n", "data.height and data.width must be positive multiples of 16"),
        ("distill: {feature_kd: l1}\n", "distill.feature_kd must be one of"),
        ("stage: finetune\n", "stage must be one of"),
        ("- a list\n", "top level must be a mapping"),
    ],
)
def test_invalid_recipes_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_config(path)


def test_unknown_key_error_names_the_file(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("runtime: {progres: false}\n")
    with pytest.raises(ValueError, match=r"typo\.yaml.*runtime\.progres"):
        load_config(path)


def test_missing_file_and_malformed_override(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ValueError, match=r"key\.sub=value"):
        apply_override({}, "optim.lr")


def test_cli_shortcuts_override_set(tmp_path):
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    args = parser.parse_args(
        [
            "r.yaml",
            "--set",
            "optim.epochs=9",
            "--epochs",
            "2",
            "--out",
            str(tmp_path / "a b"),
            "--no-progress",
        ]
    )
    overrides = collect_overrides(args, {"teacher": "t.safetensors", "student": None})
    raw: dict = {}
    for item in overrides:
        apply_override(raw, item)
    assert raw["optim"]["epochs"] == 2
    assert raw["out"] == str(tmp_path / "a b")
    assert raw["runtime"]["progress"] is False
    assert raw["teacher"] == "t.safetensors" and "student" not in raw


def test_distill_cli_model_selects_the_student(monkeypatch):
    """`disdepth distill --model NAME` sets model.name (the README's NYU/KITTI workflow uses it)."""
    from disdepth_core.cli import distill
    from disdepth_core.cli.main import build_parser

    captured = {}
    monkeypatch.setattr(
        distill, "run_command", lambda args, stage, extra: captured.update(stage=stage, extra=extra) or 0
    )
    args = build_parser().parse_args(
        [
            "distill",
            "config/train/distill_synthetic.yaml",
            "--teacher",
            "t.safetensors",
            "--model",
            "disdepth-b0",
        ]
    )
    assert args.func(args) == 0
    assert captured["extra"]["model.name"] == "disdepth-b0"
    raw: dict = {}
    for item in collect_overrides(args, captured["extra"]):
        apply_override(raw, item)
    assert raw["model"]["name"] == "disdepth-b0" and raw["teacher"] == "t.safetensors"
