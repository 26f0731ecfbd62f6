"""Input normalisation shared by training, export and runtime (ARCHITECTURE.md, "Model input").

Images are RGB scaled to [0, 1], then normalised per channel with the statistics the model's backbone
was trained with: the ImageNet mean/std of the torchvision/timm backbones (every model unless it says
otherwise), or 0.5/0.5 (input in [-1, 1]) for TensorFlow-trained backbones such as EfficientNet-Lite.
A model carries its own as ``DepthModel.input_norm``; export writes it to the ONNX metadata and the
runtime pre-processes with what the metadata says.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


class InputNorm(NamedTuple):
    """Per-channel ``(x / 255 - mean) / std`` of RGB input."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


IMAGENET_NORM = InputNorm(IMAGENET_MEAN, IMAGENET_STD)
SYMMETRIC_NORM = InputNorm((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
"""[-1, 1] input (TensorFlow / Inception preprocessing, EfficientNet-Lite)."""


def renormalize(x: Tensor, source: InputNorm, target: InputNorm) -> Tensor:
    """B x 3 x H x W normalised with ``source`` -> the same images normalised with ``target``.

    Used where two models see one batch (a teacher and a student with different backbones); the
    identity when the two agree.
    """
    if source == target:
        return x
    src_mean, src_std, dst_mean, dst_std = (
        torch.tensor(v, dtype=x.dtype, device=x.device).view(1, 3, 1, 1) for v in (*source, *target)
    )
    return (x * src_std + src_mean - dst_mean) / dst_std
