"""Tiny training fixtures shared by the training, stage, export and distill-bag tests: a 64x64 synthetic
recipe, a tiny seeded student, a fixed batch, and a few optimizer steps on it."""

import json

import torch

from disdepth_core.models import build_model
from disdepth_core.train.config import load_config

TINY_STUDENT = {
    "width_mult": 0.35,
    "lgconv": True,
    "lgconv_depthwise": False,
    "decoder_width": 32,
    "n_bins": 16,
    "bins_hidden": 16,
}


def tiny_config(out, stage="train", **sets):
    """A 64x64, 8-image synthetic recipe for a tiny student; ``sets`` are extra dotted overrides."""
    overrides = {
        "stage": stage,
        "out": str(out),
        "model.name": "disdepth-mbv2",
        "model.overrides": json.dumps(TINY_STUDENT),
        "data.height": 64,
        "data.width": 64,
        "data.batch_size": 4,
        "data.train.size": 8,
        "data.val.size": 2,
        "optim.epochs": 1,
        "runtime.progress": "false",
        "runtime.log_every": 1,
        **sets,
    }
    return load_config(None, [f"{k}={v}" for k, v in overrides.items()])


def tiny_student():
    torch.manual_seed(0)
    return build_model("disdepth-mbv2", **TINY_STUDENT)


def synthetic_batch(n=4, size=64):
    from disdepth_core.data.synthetic import render_scene
    from disdepth_core.train.batches import normalize_image

    scenes = [render_scene(i, size, size, "room") for i in range(n)]
    return {
        "image": torch.stack([normalize_image(s["image"]) for s in scenes]),
        "depth": torch.stack([torch.from_numpy(s["depth"])[None] for s in scenes]),
    }


def train_on_batch(stage, batch, steps, lr=3e-3):
    """``steps`` optimizer steps of ``stage`` on one fixed batch: (losses, last loss parts)."""
    optimizer = torch.optim.AdamW(stage.trainable_parameters(), lr=lr)
    losses, parts = [], {}
    for _ in range(steps):
        stage.train()
        loss, parts = stage(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses, parts


def state_of(module):
    return {k: v.clone() for k, v in module.state_dict().items()}
