"""DDP with 2 gloo processes on CPU: gradients are synchronised, only rank 0 writes files."""

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, out: str) -> None:
    os.environ.update(
        {
            "RANK": str(rank),
            "WORLD_SIZE": str(world_size),
            "LOCAL_RANK": str(rank),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    )
    torch.set_num_threads(1)
    from train_fixtures import tiny_config

    from disdepth_core.train import distributed
    from disdepth_core.train.runner import build_batches, build_stage, build_val_loader
    from disdepth_core.train.trainer import Trainer

    config = tiny_config(out, **{"optim.epochs": 1, "data.batch_size": 2})
    info = distributed.setup("cpu")
    try:
        assert info.world_size == world_size and info.rank == rank
        stage = build_stage(config)
        batches = build_batches(config, info, stage)
        first = next(iter(batches.epoch(0)))["index"].tolist()
        Trainer(config, stage, batches, build_val_loader(config, stage), info).fit()
        weights = {k: v.contiguous() for k, v in stage.state_dict().items()}
        save_file(weights, os.path.join(out, f"rank{rank}.safetensors"), metadata={"first": str(first)})
    finally:
        distributed.cleanup()


@pytest.mark.slow
def test_two_gloo_ranks_end_with_identical_weights(tmp_path):
    out = str(tmp_path / "ddp")
    os.makedirs(out)
    mp.spawn(_worker, args=(2, _free_port(), out), nprocs=2, join=True)
    rank0 = load_file(os.path.join(out, "rank0.safetensors"))
    rank1 = load_file(os.path.join(out, "rank1.safetensors"))
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    from safetensors import safe_open

    firsts = []
    for rank in (0, 1):
        with safe_open(os.path.join(out, f"rank{rank}.safetensors"), framework="pt") as handle:
            firsts.append(handle.metadata()["first"])
    assert firsts[0] != firsts[1], "ranks must train on different shards"
    assert os.path.isfile(os.path.join(out, "last.safetensors"))
    assert not any(name.startswith("rank1") and name != "rank1.safetensors" for name in os.listdir(out))
