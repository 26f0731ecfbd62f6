"""Pickle-free training state: optimizer/scheduler/RNG round trips through safetensors + JSON."""

import json
import random

import numpy as np
import pytest
import torch

from disdepth_core.train.state import capture_rng, flatten_state, load_state, restore_rng, save_state


def _optimizer_with_state():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=10)
    for _ in range(3):
        model(torch.randn(5, 4)).sum().backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    return model, optimizer, scheduler


def test_optimizer_and_scheduler_round_trip(tmp_path):
    _, optimizer, scheduler = _optimizer_with_state()
    save_state(
        tmp_path,
        "last",
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
        generation=1,
    )
    loaded = load_state(tmp_path, "last")
    _, fresh_opt, fresh_sched = _optimizer_with_state()
    fresh_opt.load_state_dict(loaded["optimizer"])
    fresh_sched.load_state_dict(loaded["scheduler"])
    original = optimizer.state_dict()
    restored = fresh_opt.state_dict()
    assert restored["param_groups"] == original["param_groups"]
    for index, values in original["state"].items():
        for key, tensor in values.items():
            assert torch.equal(restored["state"][index][key], tensor)
    assert fresh_sched.state_dict() == scheduler.state_dict()


def test_files_are_safetensors_and_json_only(tmp_path):
    _, optimizer, _ = _optimizer_with_state()
    save_state(tmp_path, "s", {"optimizer": optimizer.state_dict()}, generation=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.state.0000000001.safetensors", "s.state.json"]
    tree = json.loads((tmp_path / "s.state.json").read_text())["tree"]
    assert "__tensor__" in json.dumps(tree)


def test_rng_round_trip(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    save_state(tmp_path, "rng", {"rng": capture_rng()}, generation=1)
    expected = (random.random(), np.random.rand(), torch.rand(2))
    restore_rng(load_state(tmp_path, "rng")["rng"])
    got = (random.random(), np.random.rand(), torch.rand(2))
    assert expected[0] == got[0] and expected[1] == got[1] and torch.equal(expected[2], got[2])


def test_unstorable_objects_are_rejected():
    with pytest.raises(TypeError, match="without pickle"):
        flatten_state({"f": object()}, "state", {})


def test_generations_previous_record_and_fallback(tmp_path):
    for step in (1, 2, 3):
        save_state(tmp_path, "last", {"w": torch.full((2,), float(step))}, generation=step)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "last.state.0000000002.safetensors",
        "last.state.0000000003.safetensors",
        "last.state.json",
        "last.state.previous.json",
    ]
    assert torch.equal(load_state(tmp_path, "last")["w"], torch.full((2,), 3.0))
    newest = tmp_path / "last.state.0000000003.safetensors"
    newest.write_bytes(newest.read_bytes()[:-7] + b"damaged")  # same size, different bytes
    with pytest.warns(UserWarning, match=r"previous state.*0000000003\.safetensors: does not match"):
        state = load_state(tmp_path, "last")
    assert torch.equal(state["w"], torch.full((2,), 2.0))


def test_orphan_generation_from_a_killed_save_is_removed_by_the_next(tmp_path):
    save_state(tmp_path, "last", {"w": torch.zeros(1)}, generation=1)
    orphan = tmp_path / "last.state.0000000002.safetensors"  # written, but the record never committed
    orphan.write_bytes((tmp_path / "last.state.0000000001.safetensors").read_bytes())
    assert torch.equal(load_state(tmp_path, "last")["w"], torch.zeros(1))
    save_state(tmp_path, "last", {"w": torch.ones(1)}, generation=3)
    assert not orphan.exists()


def test_missing_state_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"last\.state\.json"):
        load_state(tmp_path, "last")
    save_state(tmp_path, "last", {"a": torch.zeros(1)}, generation=5)
    (tmp_path / "last.state.0000000005.safetensors").unlink()
    with pytest.raises(ValueError, match=r"refers to last\.state\.0000000005\.safetensors, which is missing"):
        load_state(tmp_path, "last")
