"""Input normalisation shared by training, export and runtime (ARCHITECTURE.md, "Model input").

Images are RGB scaled to [0, 1], then normalised per channel with the ImageNet statistics that the
torchvision/timm backbones were trained with.
"""

from __future__ import annotations

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
