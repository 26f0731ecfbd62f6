"""Trainer end to end on tiny synthetic data: checkpoints, metadata, logs, exact resume, loss decrease."""

import os

import pytest
import torch
from train_fixtures import synthetic_batch, tiny_config, tiny_student

from disdepth_core.models.checkpoint import load_model
from disdepth_core.train import trainer as trainer_module
from disdepth_core.train.config import load_config
from disdepth_core.train.logger import read_history
from disdepth_core.train.runner import run_stage
from disdepth_core.train.stages.supervised import SupervisedStage


def test_supervised_loss_decreases_on_a_fixed_batch():
    stage = SupervisedStage(tiny_student(), load_config().loss)
    batch = synthetic_batch()
    optimizer = torch.optim.AdamW(stage.trainable_parameters(), lr=3e-3)
    losses = []
    for _ in range(6):
        loss, parts = stage(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        assert set(parts) == {"silog", "bins"}
    assert losses[-1] < losses[0]


def test_train_writes_checkpoints_logs_and_metadata(tmp_path):
    result = run_stage(tiny_config(tmp_path / "run", **{"optim.epochs": 2}))
    out = tmp_path / "run"
    for name in (
        "last.safetensors",
        "last.json",
        "best.safetensors",
        "last.state.json",
        "last.state.previous.json",
        "last.state.0000000004.safetensors",
    ):
        assert (out / name).is_file(), name
    assert list((out / "tb").iterdir()), "no TensorBoard event file"
    model, metadata = load_model(result.last)
    assert model.name == "disdepth-mbv2"
    assert metadata["stage"] == "train" and metadata["epoch"] == 1 and metadata["step"] == 4
    assert metadata["input_height"] == 64 and metadata["config"]["data"]["batch_size"] == 4
    assert metadata["git_hash"] and set(metadata["metrics"]) >= {"abs_rel", "rmse", "d1"}
    assert [r["epoch"] for r in read_history(out, "val")] == [0, 1]
    assert not list(out.glob("*.tmp")), "temporary files left behind"


class _CrashError(Exception):
    pass


@pytest.mark.parametrize("crash_at", [5, 7], ids=["epoch-boundary", "mid-epoch"])
def test_resume_is_bit_identical(tmp_path, monkeypatch, crash_at):
    sets = {"optim.epochs": 2, "data.batch_size": 2, "runtime.checkpoint_every": 3}
    reference = run_stage(tiny_config(tmp_path / "ref", **sets))
    expected, _ = load_model(reference.last)

    original = trainer_module.Trainer._train_step
    calls = {"n": 0}

    def crashing(self, batch):
        calls["n"] += 1
        if calls["n"] == crash_at:
            raise _CrashError
        return original(self, batch)

    monkeypatch.setattr(trainer_module.Trainer, "_train_step", crashing)
    with pytest.raises(_CrashError):
        run_stage(tiny_config(tmp_path / "resumed", **sets))
    monkeypatch.setattr(trainer_module.Trainer, "_train_step", original)
    result = run_stage(tiny_config(tmp_path / "resumed", **sets), resume=True)
    resumed, metadata = load_model(result.last)
    assert metadata["step"] == 8
    for (key, a), b in zip(expected.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), key


class _KilledError(BaseException):
    """Stands in for SIGKILL at a write step: not an Exception, so nothing in the trainer catches it."""


def _replace_counting(monkeypatch, kill_before: int | None):
    """Wrap os.replace (every atomic write's last step); raise _KilledError before call `kill_before`."""
    real, calls = os.replace, {"n": 0}

    def replace(src, dst):
        calls["n"] += 1
        if calls["n"] == kill_before:
            raise _KilledError
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return calls


@pytest.mark.slow
def test_kill_at_every_write_step_of_a_checkpoint_resumes_bit_identically(tmp_path, monkeypatch):
    """Kill before each rename of the first checkpoint (artifacts, then the state unit), and right after
    the last one; every resume ends with the weights and state of the uninterrupted run."""
    sets = {"optim.epochs": 2, "data.batch_size": 4}
    calls = _replace_counting(monkeypatch, None)
    reference = run_stage(tiny_config(tmp_path / "ref", **sets))
    expected, _ = load_model(reference.last)
    total = calls["n"]  # renames in the whole run: config.yaml/history excluded (not atomic renames)
    calls["n"] = 0
    before_first_save = None

    def count_first_save(self, best):
        nonlocal before_first_save
        if before_first_save is None:
            before_first_save = calls["n"]
        return original_save(self, best)

    original_save = trainer_module.Trainer._save
    monkeypatch.setattr(trainer_module.Trainer, "_save", count_first_save)
    run_stage(tiny_config(tmp_path / "count", **sets))
    monkeypatch.setattr(trainer_module.Trainer, "_save", original_save)
    per_save = total // 2
    assert per_save >= 5, "a checkpoint is last + best artifacts (2 files each) and the state unit"
    kill_points = range(before_first_save + 1, before_first_save + per_save + 2)
    for kill_before in kill_points:
        out = tmp_path / f"killed_{kill_before}"
        _replace_counting(monkeypatch, kill_before)
        with pytest.raises(_KilledError):
            run_stage(tiny_config(out, **sets))
        _replace_counting(monkeypatch, None)
        resumable = (out / "last.state.json").is_file()
        result = run_stage(tiny_config(out, **sets), resume=resumable)
        resumed, metadata = load_model(result.last)
        assert metadata["step"] == 4, kill_before
        for (key, a), b in zip(expected.state_dict().items(), resumed.state_dict().values(), strict=True):
            assert torch.equal(a, b), (kill_before, key)
        assert not list(out.glob(".*.tmp")), "stale temporaries of the killed run were not cleaned"
        assert [r["step"] for r in read_history(out, "val")] == [2, 4]


def test_resume_without_state_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"last\.state\.json"):
        run_stage(tiny_config(tmp_path / "empty"), resume=True)


def test_no_validation_keeps_last_as_best(tmp_path):
    result = run_stage(tiny_config(tmp_path / "run", **{"runtime.val_every": 0}))
    assert result.best.is_file() and result.metrics == {}


def test_encoder_learning_rate_scale_gives_the_backbone_its_own_group(tmp_path):
    """optim.encoder_lr_scale: a pretrained backbone fine-tunes at a fraction of the decoder's rate."""
    stage = SupervisedStage(tiny_student(), tiny_config(tmp_path).loss)
    groups = stage.parameter_groups(1e-3, 0.1)
    encoder = {id(p) for p in stage.model.encoder.parameters()}
    assert [group["lr"] for group in groups] == [pytest.approx(1e-4), 1e-3]
    assert {id(p) for p in groups[0]["params"]} == encoder
    assert not encoder & {id(p) for p in groups[1]["params"]}
    assert sum(len(g["params"]) for g in groups) == len(stage.trainable_parameters())
    result = run_stage(tiny_config(tmp_path / "run", **{"optim.encoder_lr_scale": 0.1, "optim.epochs": 1}))
    assert result.last.is_file()
    lrs = [r["lr"] for r in read_history(tmp_path / "run", "train")]
    assert lrs and max(lrs) <= 1e-3
