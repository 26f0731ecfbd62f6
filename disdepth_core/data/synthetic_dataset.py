"""Torch map-style dataset of procedural synthetic scenes rendered on the fly (see ``synthetic``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from disdepth_core.data.synthetic import KINDS, render_scene

SEED_STRIDE = 1_000_003  # sample i of dataset seed s renders scene s * SEED_STRIDE + i

Augmentation = Callable[[dict[str, np.ndarray], np.random.Generator], dict[str, np.ndarray]]


def augmentation_rng() -> np.random.Generator:
    """A numpy generator seeded from torch's RNG: follows ``torch.manual_seed`` and DataLoader workers."""
    return np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))


class SyntheticDepthDataset(Dataset):
    """``length`` random scenes: sample i = ``render_scene(seed * SEED_STRIDE + i, height, width, kind)``.

    Kinds cycle over ``kinds`` (sample i uses ``kinds[i % len(kinds)]``). Samples are dicts of numpy
    arrays (``image`` uint8 HxWx3, ``depth`` float32 HxW metres with 0 invalid, ``K`` float32 3x3); the
    default DataLoader collate turns them into tensors. ``augment`` (e.g. ``augment.Augment()``) is
    applied with a generator drawn from torch's RNG, so augmentations differ between epochs.
    """

    def __init__(
        self,
        length: int,
        height: int,
        width: int,
        seed: int = 0,
        kinds: Sequence[str] = ("room",),
        augment: Augmentation | None = None,
        max_depth: float | None = None,
    ) -> None:
        unknown = [k for k in kinds if k not in KINDS]
        if not kinds or unknown:
            raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {tuple(kinds)}")
        self.length, self.height, self.width = int(length), int(height), int(width)
        self.seed, self.kinds, self.augment, self.max_depth = int(seed), tuple(kinds), augment, max_depth

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for a dataset of {self.length} scenes")
        kind = self.kinds[index % len(self.kinds)]
        sample = render_scene(self.seed * SEED_STRIDE + index, self.height, self.width, kind, self.max_depth)
        if self.augment is not None:
            sample = self.augment(sample, augmentation_rng())
        return sample
