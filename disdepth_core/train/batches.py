"""From dataset samples to training batches: resize/crop/flip, normalisation, deterministic epoch order.

Samples follow ``disdepth_core.data`` (``image`` uint8 H x W x 3 RGB, ``depth`` float32 metres with 0/NaN
invalid, absent for unlabeled data). :class:`PreparedDataset` resizes each sample to cover the training
size (aspect kept), crops (random when training, centred otherwise), applies
``disdepth_core.data.augment.Augment`` when training (BTS/AdaBins recipe: small rotation, flip, colour)
and normalises with the model's input statistics (``norm``). Depth is resized with nearest-neighbour so
no value is invented across a depth edge; invalid becomes 0.

Camera-aware models (``canonical_focal > 0``, :mod:`disdepth_core.data.focal_augment`): samples must
carry ``K``; the crop is a random crop + resize with a random zoom (``max_zoom``) when training, so the
focal length varies, and every item says its focal at the output size (``fx_in``). Training targets are
canonical depth ``depth * canonical_focal / fx_in``; validation items keep metric depth and carry
``metric_scale = fx_in / canonical_focal``, the factor that turns a prediction back into metres.
A plain metric model (``canonical_focal == 0``) with ``max_zoom > 1`` gets the same random crop + resize
when training, with the recording camera as the canonical camera: a crop zoomed by ``z`` looks like the
scene ``z`` times closer, so its target depth is ``depth / z`` (no ``K`` needed).
Randomness comes from
``sample_rng(seed, epoch, index)``, so an item looks the same whatever worker, rank or resume point
loads it. Unlabeled samples are always centre-cropped and never flipped here: their pseudo-labels are
computed (and cached) for that fixed view, and the distill stage flips image and pseudo-label together
(``flip`` flag).

:class:`EpochBatches` yields the batches of one epoch: the labeled order comes from a
``DistributedSampler`` seeded with ``seed`` and ``set_epoch(epoch)`` (each rank its own shard), optional
unlabeled batches are zipped in (cycled when the unlabeled set is smaller), and ``skip`` drops the batches
a resumed run has already trained on without loading them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from disdepth_core.data.augment import Augment
from disdepth_core.data.focal_augment import FocalAugment, canonical_depth
from disdepth_core.geometry import focal_depth_scale, focal_of_matrix
from disdepth_core.models.normalization import IMAGENET_NORM, InputNorm

from .seeding import sample_rng


def normalize_image(image: np.ndarray, norm: InputNorm = IMAGENET_NORM) -> torch.Tensor:
    """uint8 H x W x 3 RGB -> float32 3 x H x W normalised with ``norm`` (ImageNet mean/std by default)."""
    mean, std = np.asarray(norm.mean, np.float32), np.asarray(norm.std, np.float32)
    scaled = (image.astype(np.float32) / 255.0 - mean) / std
    return torch.from_numpy(np.ascontiguousarray(scaled.transpose(2, 0, 1)))


def image_key(image: np.ndarray) -> str:
    """A content hash (first 16 hex digits of SHA-1 over shape and bytes) identifying an image."""
    digest = hashlib.sha1(str(image.shape).encode())
    digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()[:16]


def fit_to_size(
    image: np.ndarray,
    depth: np.ndarray | None,
    height: int,
    width: int,
    rng: np.random.Generator | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Resize to cover ``height x width`` (aspect kept) and crop (random with ``rng``, else centred)."""
    h, w = image.shape[:2]
    scale = max(height / h, width / w)
    new_h, new_w = max(height, round(h * scale)), max(width, round(w * scale))
    if (new_h, new_w) != (h, w):
        interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        image = cv2.resize(image, (new_w, new_h), interpolation=interp)
        if depth is not None:
            depth = cv2.resize(depth, (new_w, new_h), interpolation=cv2.INTER_NEAREST)
    top = (new_h - height) // 2 if rng is None else int(rng.integers(0, new_h - height + 1))
    left = (new_w - width) // 2 if rng is None else int(rng.integers(0, new_w - width + 1))
    image = image[top : top + height, left : left + width]
    if depth is not None:
        depth = depth[top : top + height, left : left + width]
    return image, depth


class PreparedDataset(Dataset):
    """Wraps a sample dataset; items are addressed as ``(index, epoch)`` (see :class:`EpochBatches`).

    Labeled items: ``image`` (3 x H x W normalised), ``depth`` (1 x H x W metres, 0 invalid), ``index``.
    Unlabeled items (``labeled=False``): ``image``, ``index``, ``key`` (content hash of the source
    image) and ``flip`` (bool; applied by the consumer). Camera-aware (``canonical_focal > 0``): also
    ``fx_in`` (0 for an unlabeled image without ``K``), canonical ``depth`` when training and
    ``metric_scale`` when validating (see the module docstring).
    """

    def __init__(
        self,
        samples: Any,
        height: int,
        width: int,
        train: bool,
        seed: int,
        augment: bool = True,
        labeled: bool = True,
        norm: InputNorm = IMAGENET_NORM,
        canonical_focal: float = 0.0,
        max_zoom: float = 1.0,
    ) -> None:
        self.samples = samples
        self.norm = norm
        self.canonical_focal = float(canonical_focal)
        self.focal = FocalAugment(max_zoom if augment and train and labeled else 1.0)
        self.height = height
        self.width = width
        self.train = train
        self.seed = seed
        self.augment = Augment() if augment and train and labeled else None
        self.hflip = augment and train and not labeled
        self.labeled = labeled

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, item: tuple[int, int] | int) -> dict[str, Any]:
        index, epoch = item if isinstance(item, tuple) else (item, 0)
        sample = self.samples[index]
        rng = sample_rng(self.seed, epoch, index) if self.train else None
        raw = np.asarray(sample["image"])
        if raw.ndim != 3 or raw.shape[2] != 3 or raw.dtype != np.uint8:
            raise ValueError(
                f"dataset item {index}: image must be uint8 H x W x 3 RGB, got {raw.dtype} {raw.shape}"
            )
        depth = None
        if self.labeled:
            if "depth" not in sample:
                raise ValueError(f"dataset item {index} has no 'depth'; labeled datasets need ground truth")
            depth = np.nan_to_num(np.asarray(sample["depth"], np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        # Unlabeled images are centre-cropped: the cached pseudo-label must match the crop every epoch.
        crop_rng = rng if self.labeled else None
        out: dict[str, Any] = {"index": index}
        if self.canonical_focal > 0:
            k = sample.get("K")
            k = np.asarray(k, np.float64).reshape(3, 3) if focal_of_matrix(k) > 0 else None
            if self.labeled and k is None:
                raise ValueError(
                    f"dataset item {index} has no intrinsics K: a camera-aware model (canonical_focal_px "
                    f"{self.canonical_focal:g}) needs the focal length of every labeled image"
                )
            image, depth, k = self.focal(raw, depth, k, self.height, self.width, crop_rng)
            out["fx_in"] = focal_of_matrix(k)
        elif self.focal.max_zoom > 1.0:
            # a unit focal at the source size becomes cover * zoom after the crop + resize
            image, depth, k = self.focal(raw, depth, np.eye(3), self.height, self.width, crop_rng)
            cover = max(self.height / raw.shape[0], self.width / raw.shape[1])
            depth = canonical_depth(depth, focal_of_matrix(k), cover)
        else:
            image, depth = fit_to_size(raw, depth, self.height, self.width, crop_rng)
        if self.labeled:
            if self.augment is not None:
                augmented = self.augment({"image": image, "depth": depth}, rng)
                image, depth = augmented["image"], augmented["depth"]
            if self.canonical_focal > 0 and self.train:
                depth = canonical_depth(depth, out["fx_in"], self.canonical_focal)
            elif self.canonical_focal > 0:
                out["metric_scale"] = focal_depth_scale(out["fx_in"], self.canonical_focal, 0.0)
            out["image"] = normalize_image(image, self.norm)
            out["depth"] = torch.from_numpy(np.ascontiguousarray(depth))[None]
        else:
            out["image"] = normalize_image(image, self.norm)
            out["key"] = image_key(raw)
            out["flip"] = bool(self.hflip and rng is not None and rng.random() < 0.5)
        return out


class EpochBatches:
    """Deterministic batches of one epoch, sharded over ranks, optionally zipped with unlabeled batches.

    Labeled batches have keys ``image``, ``depth``, ``index``; unlabeled ones are added under
    ``unlabeled_image``, ``unlabeled_index``, ``unlabeled_key``, ``unlabeled_flip``.
    """

    def __init__(
        self,
        labeled: PreparedDataset,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 0,
        max_steps: int = 0,
        unlabeled: PreparedDataset | None = None,
        unlabeled_batch_size: int = 0,
    ) -> None:
        self.labeled = labeled
        self.unlabeled = unlabeled
        self.batch_size = batch_size
        self.unlabeled_batch_size = unlabeled_batch_size or batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.num_workers = num_workers
        per_rank = -(-len(labeled) // world_size)
        steps = per_rank // batch_size
        if steps < 1:
            raise ValueError(
                f"training set has {len(labeled)} samples: too few for batch_size {batch_size} on "
                f"{world_size} rank(s); lower data.batch_size or add samples"
            )
        self.steps = min(steps, max_steps) if max_steps > 0 else steps
        if unlabeled is not None and len(unlabeled) < 1:
            raise ValueError("the unlabeled dataset is empty; check data.unlabeled")

    def __len__(self) -> int:
        return self.steps

    def _order(self, dataset: Dataset, epoch: int, seed: int) -> list[int]:
        sampler = DistributedSampler(
            dataset, num_replicas=self.world_size, rank=self.rank, shuffle=True, seed=seed
        )
        sampler.set_epoch(epoch)
        return list(sampler)

    def _loader(self, dataset: Dataset, items: Sequence[tuple[int, int]], batch_size: int) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=list(items),
            num_workers=self.num_workers,
            drop_last=True,
        )

    def epoch(self, epoch: int, skip: int = 0) -> Iterator[dict[str, Any]]:
        """Batches ``skip .. len(self)`` of ``epoch``."""
        n = self.steps - skip
        if n <= 0:
            return
        order = self._order(self.labeled, epoch, self.seed)
        start, stop = skip * self.batch_size, self.steps * self.batch_size
        labeled = self._loader(self.labeled, [(i, epoch) for i in order[start:stop]], self.batch_size)
        if self.unlabeled is None:
            yield from labeled
            return
        size = self.unlabeled_batch_size
        needed = self.steps * size
        items: list[tuple[int, int]] = []
        cycle = 0
        while len(items) < needed:  # cycle a small unlabeled set with a fresh order each pass
            pass_epoch = epoch * 1_000_003 + cycle
            items += [(i, pass_epoch) for i in self._order(self.unlabeled, pass_epoch, self.seed + 1)]
            cycle += 1
        unlabeled = self._loader(self.unlabeled, items[skip * size : needed], size)
        for batch, extra in zip(labeled, unlabeled, strict=False):
            batch.update({f"unlabeled_{k}": v for k, v in extra.items()})
            yield batch
