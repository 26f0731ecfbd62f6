"""The one warning about a model's own metric scale, shared by the node and eval-bag.

A model whose metadata says it learnt metric depth from rendered images only (``training_images:
synthetic``; ``disdepth export --training-images``) puts real scenes at the wrong distance (2-7x off
on ``real_dev``: docs/default_model.md); when nothing but its own scale is in force, say so once and
name the options.
"""

from __future__ import annotations

from typing import Any

from disdepth_core.scale.sources import AUTO

__all__ = ["TRAINING_IMAGES_KEY", "own_scale_warning"]

TRAINING_IMAGES_KEY = "training_images"
"""ONNX metadata key: what the model's metric depth was learnt from (synthetic, real, synthetic+real)."""


def own_scale_warning(info: Any, spec: str, mount_known: bool) -> str | None:
    """The warning for a synthetic-only model run on its own scale (``spec`` model, or auto without a
    known mount), else None."""
    own_scale = spec == "model" or (spec == AUTO and not mount_known)
    if info.extra.get(TRAINING_IMAGES_KEY) != "synthetic" or not own_scale:
        return None
    return (
        f"{info.name} was trained on synthetic images only: its metric depth on a real camera is not "
        "trustworthy on its own scale. Give it a scale source: the camera mount (TF, or camera height, "
        "pitch and roll) for ground_plane, a sparse depth topic (sparse_depth), a range sensor (range) "
        "or a measured factor (fixed:FACTOR)"
    )
