"""Torch map-style dataset of procedural synthetic scenes (see ``synthetic``), optionally cached on disk."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from disdepth_core.data.photometric import Photometric
from disdepth_core.data.synthetic import KINDS, RENDERER_VERSION, render_scene
from disdepth_core.data.synthetic.textures import TextureBank, default_texture_bank, load_texture_bank
from disdepth_core.files import atomic_write_bytes

SEED_STRIDE = 1_000_003  # sample i of dataset seed s renders scene s * SEED_STRIDE + i
PHOTOMETRIC_STREAM = 0x9E3779B9  # mixes into the photometric generator's seed: independent of the scene's

Augmentation = Callable[[dict[str, np.ndarray], np.random.Generator], dict[str, np.ndarray]]


def augmentation_rng() -> np.random.Generator:
    """A numpy generator seeded from torch's RNG: follows ``torch.manual_seed`` and DataLoader workers."""
    return np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))


class SyntheticDepthDataset(Dataset):
    """``length`` random scenes: sample i = ``render_scene(seed * SEED_STRIDE + i, height, width, kind)``.

    Kinds cycle over ``kinds`` (sample i uses ``kinds[i % len(kinds)]``). Samples are dicts of numpy
    arrays (``image`` uint8 HxWx3, ``depth`` float32 HxW metres with 0 invalid, ``K`` float32 3x3); the
    default DataLoader collate turns them into tensors.

    - ``texture_groups``: photograph groups of ``textures.GROUPS`` (e.g. ``("scikit-image", "rtabmap",
      "manydepth")``, with ``real_unlabeled`` the folder of the latter two); a missing package or folder
      raises. None: the default bank (scikit-image, or procedural materials with a warning).
    - ``photometric``: camera effects (``photometric.Photometric``) with a generator seeded by
      (dataset seed, index): sample i always gets the same effects, runs are reproducible.
    - ``augment`` (e.g. ``augment.Augment()``): applied last with a generator drawn from torch's RNG,
      so these augmentations differ between epochs.
    - ``cache_dir``: renders are stored as ``.npz`` files keyed by renderer version, texture bank
      fingerprint, kind, scene seed, size and maximum depth, written atomically; later epochs and runs
      read them instead of rendering. A damaged file is rendered again.
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
        photometric: Photometric | None = None,
        texture_groups: Sequence[str] | None = None,
        real_unlabeled: str | Path | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        unknown = [k for k in kinds if k not in KINDS]
        if not kinds or unknown:
            raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {tuple(kinds)}")
        self.length, self.height, self.width = int(length), int(height), int(width)
        self.seed, self.kinds, self.augment, self.max_depth = int(seed), tuple(kinds), augment, max_depth
        self.photometric = photometric
        self.texture_groups = None if texture_groups is None else tuple(texture_groups)
        self.real_unlabeled = real_unlabeled
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        if self.texture_groups is not None:
            load_texture_bank(self.texture_groups, real_unlabeled)  # a missing package or folder fails now

    @property
    def textures(self) -> TextureBank:
        """The texture bank (loaded once per process, also inside DataLoader workers)."""
        if self.texture_groups is None:
            return default_texture_bank()
        return load_texture_bank(self.texture_groups, self.real_unlabeled)

    def __len__(self) -> int:
        return self.length

    def cache_path(self, index: int) -> Path | None:
        """Where sample ``index``'s render is cached (None without ``cache_dir``)."""
        if self.cache_dir is None:
            return None
        kind = self.kinds[index % len(self.kinds)]
        depth = "default" if self.max_depth is None else f"{float(self.max_depth):g}"
        key = f"r{RENDERER_VERSION}-{self.textures.fingerprint}-{kind}-{self.height}x{self.width}-d{depth}"
        return self.cache_dir / key / f"{self.seed * SEED_STRIDE + index}.npz"

    def _render(self, index: int) -> dict[str, np.ndarray]:
        kind = self.kinds[index % len(self.kinds)]
        scene_seed = self.seed * SEED_STRIDE + index
        path = self.cache_path(index)
        if path is not None and path.is_file():
            try:
                with np.load(path) as data:
                    return {name: data[name] for name in ("image", "depth", "K")}
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                pass  # damaged (e.g. written by another tool): render again and replace it
        sample = render_scene(scene_seed, self.height, self.width, kind, self.max_depth, self.textures)
        if path is not None:
            buffer = io.BytesIO()
            np.savez(buffer, **sample)
            atomic_write_bytes(path, buffer.getvalue())
        return sample

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for a dataset of {self.length} scenes")
        sample = self._render(index)
        if self.photometric is not None:
            sample = self.photometric(sample, np.random.default_rng([PHOTOMETRIC_STREAM, self.seed, index]))
        if self.augment is not None:
            sample = self.augment(sample, augmentation_rng())
        return sample
