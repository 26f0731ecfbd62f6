"""Registered built-in transformer teachers: a hierarchical ViT encoder + fusion decoder + bins head.

Sizes follow Swin (T/S/B-like widths and depths) scaled down at the small end: ``teacher-tiny``
(~2M parameters) trains on a 2-core CPU at ~128x160, ``teacher-large`` is a Swin-B-sized encoder. For
a pretrained teacher, load a Hugging Face depth model with :mod:`disdepth_core.models.teachers.hf_teacher`.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..registry import register_model
from ..transformer import HierarchicalTransformer

TEACHER_PRESETS: dict[str, dict[str, Any]] = {
    "teacher-tiny": {"embed_dims": [32, 64, 128, 256], "depths": [1, 1, 2, 1], "decoder_width": 64},
    "teacher-small": {"embed_dims": [64, 128, 256, 512], "depths": [2, 2, 6, 2], "decoder_width": 128},
    "teacher-base": {"embed_dims": [96, 192, 384, 768], "depths": [2, 2, 18, 2], "decoder_width": 256},
    "teacher-large": {"embed_dims": [128, 256, 512, 1024], "depths": [2, 2, 18, 2], "decoder_width": 256},
}
TRANSFORMER_DEFAULTS: dict[str, Any] = {
    "head_dim": 32,
    "window_size": 8,
    "global_from_stage": 2,
    "mlp_ratio": 4.0,
}


def _build_encoder(config: dict[str, Any]) -> nn.Module:
    """Transformer teacher: hierarchical ViT encoder, fusion decoder, bins head."""
    return HierarchicalTransformer(
        config["embed_dims"],
        config["depths"],
        config["head_dim"],
        config["window_size"],
        config["global_from_stage"],
        config["mlp_ratio"],
    )


for _name, _preset in TEACHER_PRESETS.items():
    register_model(_name, {**TRANSFORMER_DEFAULTS, **_preset})(_build_encoder)
