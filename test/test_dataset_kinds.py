"""Dataset kinds: one registration adds a kind to training configs, `disdepth eval` and the error lists."""

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from disdepth_core.evaluation import EvalRange
from disdepth_core.train import dataset_kinds
from disdepth_core.train.config import DataConfig, DatasetConfig, TrainConfig
from disdepth_core.train.dataset_kinds import LABELED, UNLABELED, DatasetKind, register_dataset
from disdepth_core.train.datasets import build_labeled

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "disdepth_default.onnx"


class _Flat:
    """A stand-in dataset: constant depth at the asked size."""

    def __init__(self, depth: float, height: int, width: int) -> None:
        self.depth, self.height, self.width = depth, height, width

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int) -> dict:
        return {
            "image": np.zeros((self.height, self.width, 3), np.uint8),
            "depth": np.full((self.height, self.width), self.depth, np.float32),
        }


@pytest.fixture
def flat_kind(monkeypatch):
    """A kind ``flat`` in a module of its own, registered for this test only."""
    monkeypatch.setattr(dataset_kinds, "_KINDS", dict(dataset_kinds._KINDS))
    module = types.ModuleType("flat_dataset_for_test")
    module.open_flat = lambda spec, height, width, training: _Flat(float(spec.root), height, width)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return register_dataset(
        DatasetKind(
            "flat",
            LABELED,
            "flat_dataset_for_test:open_flat",
            "constant depth",
            root="the depth",
            evaluated=True,
            protocol=EvalRange(0.5, 20.0),
        )
    )


def test_a_registered_kind_trains_and_is_listed(flat_kind):
    config = TrainConfig()
    config.data.train = DatasetConfig(kind="flat", root="2.5")
    config.validate()
    samples = build_labeled(config.data.train, DataConfig(height=16, width=24))
    assert len(samples) == 3 and samples[0]["depth"].shape == (16, 24) and samples[0]["depth"][0, 0] == 2.5
    config.data.train = DatasetConfig(kind="unknown")
    with pytest.raises(ValueError, match="flat"):
        config.validate()


def test_a_registered_kind_is_an_eval_choice(flat_kind, capsys):
    from disdepth_core.cli.main import main

    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "flat: constant depth" in help_text and "flat: the depth" in help_text
    with pytest.raises(SystemExit):
        main(["eval", "model.onnx", "--dataset", "make3d"])
    assert "flat" in capsys.readouterr().err
    assert (
        main(["eval", str(SHIPPED), "--dataset", "flat", "--data-root", "4", "--json", "--no-progress"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == "flat" and result["raw"]["n_images"] == 3
    assert (result["range"]["min_depth"], result["range"]["max_depth"]) == (0.5, 20.0)
    assert main(["eval", str(SHIPPED), "--dataset", "flat"]) != 0
    assert "--dataset flat needs --data-root: the depth" in capsys.readouterr().err


def test_builtin_kinds_and_errors():
    assert dataset_kinds.dataset_names(LABELED, training=True) == (
        "synthetic",
        "nyu",
        "kitti",
        "pseudo_labels",
    )
    assert dataset_kinds.dataset_names(LABELED, evaluated=True) == ("synthetic", "nyu", "kitti", "rgbd")
    assert dataset_kinds.dataset_names(UNLABELED) == ("synthetic", "folder", "video", "rosbag")
    with pytest.raises(ValueError, match="already registered"):
        register_dataset(DatasetKind("nyu", LABELED, "x:y", "again"))
    with pytest.raises(ValueError, match="reserved"):
        register_dataset(DatasetKind("none", UNLABELED, "x:y", "reserved"))
    with pytest.raises(ValueError, match="unknown unlabeled kind 'webcam'; choose one of synthetic, folder"):
        dataset_kinds.dataset_kind(UNLABELED, "webcam", what="unlabeled kind")


def test_every_evaluated_kind_has_a_protocol():
    from disdepth_core.evaluation import protocol_for

    for name in dataset_kinds.dataset_names(LABELED, evaluated=True):
        assert protocol_for(name).max_depth > 0
