"""Datasets named by a training config (``data.train``, ``data.val``, ``data.unlabeled``): the openers
of the kinds registered in :mod:`.dataset_kinds` that live here (synthetic, NYU, KITTI, video and rosbag
streams) and the builders that open any registered kind. Samples become training batches in
:mod:`disdepth_core.train.batches`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from .config import DataConfig, DatasetConfig, UnlabeledConfig
from .dataset_kinds import LABELED, NO_UNLABELED, UNLABELED, dataset_kind


class WithoutDepth(Dataset):
    """A labeled dataset seen as unlabeled (``image`` and, when present, ``K`` are kept)."""

    def __init__(self, samples: Any) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.samples[index]
        return {key: sample[key] for key in ("image", "K") if key in sample}


class Truncated(Dataset):
    """The first ``length`` items of a dataset."""

    def __init__(self, samples: Any, length: int) -> None:
        self.samples = samples
        self.length = min(length, len(samples))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} items")
        return self.samples[index]


def open_synthetic(spec: DatasetConfig, height: int, width: int, training: bool) -> Any:
    """Renderer scenes at the input size (``kinds`` default to ``room``), with the camera effects,
    texture groups and render cache of ``spec``."""
    from disdepth_core.data.photometric import Photometric

    return _rendered(
        spec,
        height,
        width,
        photometric=Photometric() if spec.photometric else None,
        texture_groups=tuple(spec.textures) or None,
        real_unlabeled=spec.real_unlabeled or None,
        cache_dir=spec.cache_dir or None,
    )


def open_synthetic_unlabeled(spec: UnlabeledConfig, height: int, width: int, training: bool) -> Any:
    """The renderer's scenes without their depth (from the unlabeled seed, disjoint from the labeled)."""
    return WithoutDepth(_rendered(spec, height, width))


def _rendered(spec: DatasetConfig | UnlabeledConfig, height: int, width: int, **options: Any) -> Any:
    from disdepth_core.data.synthetic_dataset import SyntheticDepthDataset

    return SyntheticDepthDataset(
        spec.size, height, width, seed=spec.seed, kinds=tuple(spec.kinds or ["room"]), **options
    )


def build_labeled(spec: DatasetConfig, data: DataConfig, training: bool = True) -> Any:
    """The sample dataset described by ``spec`` (``data.train`` or ``data.val``; the kinds of
    :mod:`.dataset_kinds`), truncated to ``max_samples`` > 0."""
    kind = dataset_kind(LABELED, spec.kind)
    samples = kind.open(spec, data.height, data.width, training)
    if len(samples) == 0:
        raise ValueError(f"{spec.kind} dataset at {spec.root or '<synthetic>'} ({spec.split}) is empty")
    return Truncated(samples, spec.max_samples) if spec.max_samples > 0 else samples


def open_nyu(spec: DatasetConfig, height: int, width: int, training: bool) -> Any:
    """NYU Depth V2 from a BTS list (``list_file``, paths under ``root``, ground truth under ``gt_root``)
    or the labeled ``.mat`` + ``splits.mat`` under ``root`` (``split`` train/test/all; val = test)."""
    from disdepth_core.data.nyu import NYUListDataset, NYUv2LabeledDataset

    if spec.list_file:
        return NYUListDataset(spec.list_file, spec.root, spec.gt_root or None)
    root_path = Path(spec.root)
    mat = root_path / "nyu_depth_v2_labeled.mat"
    splits = root_path / "splits.mat"
    if not mat.is_file():
        raise FileNotFoundError(
            f"{mat} not found: give the directory holding nyu_depth_v2_labeled.mat (+ splits.mat), "
            "or a BTS list file"
        )
    split = "test" if spec.split in ("val", "validation") else spec.split
    return NYUv2LabeledDataset(mat, split=split, splits_path=splits if split != "all" else None)


def open_kitti(spec: DatasetConfig, height: int, width: int, training: bool) -> Any:
    """KITTI (Eigen split) from a BTS list (``list_file``); images under ``root``, ground truth under
    ``gt_root``. Training takes the 352 x 1216 KITTI-benchmark crop; evaluation full frames (the Garg
    crop is the protocol's)."""
    from disdepth_core.data.kitti import KITTIListDataset

    if not spec.list_file:
        raise ValueError(f"KITTI needs a BTS list file (image gt focal per line) for data root {spec.root}")
    return KITTIListDataset(spec.list_file, spec.root, spec.gt_root or None, kb_crop=training)


class Materialized(Dataset):
    """Images of a streaming source (video, rosbag) read once, stored centre-cropped at the training size."""

    def __init__(self, stream: Any, height: int, width: int, max_samples: int, label: str) -> None:
        from tqdm import tqdm

        from .batches import fit_to_size

        self.images: list[np.ndarray] = []
        for sample in tqdm(stream, desc=f"reading {label}", leave=False, dynamic_ncols=True):
            self.images.append(fit_to_size(np.asarray(sample["image"]), None, height, width, None)[0])
            if 0 < max_samples <= len(self.images):
                break

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {"image": self.images[index]}


def open_rgbd(spec: DatasetConfig, height: int, width: int, training: bool) -> Any:
    """A folder of ``NAME.npz`` RGB-D frames (``rgb``, ``depth``, ``K``) at ``root``, e.g. real_dev."""
    from disdepth_core.data.rgbd_folder import RGBDFolder

    return RGBDFolder(spec.root)


def open_image_folder(spec: UnlabeledConfig, height: int, width: int, training: bool) -> Any:
    """All images under the folder at ``path``."""
    from disdepth_core.data.unlabeled import ImageFolderDataset

    return ImageFolderDataset(spec.path)


def open_video(spec: UnlabeledConfig, height: int, width: int, training: bool) -> Any:
    """Every ``frame_step``-th frame of the video at ``path``, read once (:class:`Materialized`)."""
    from disdepth_core.data.unlabeled import VideoFramesDataset

    stream = VideoFramesDataset(spec.path, every=spec.frame_step)
    return Materialized(stream, height, width, spec.max_samples, spec.path)


def open_rosbag(spec: UnlabeledConfig, height: int, width: int, training: bool) -> Any:
    """Every ``frame_step``-th image of ``topic`` in the bag at ``path``, read once
    (:class:`Materialized`)."""
    from disdepth_core.data.bag_images import BagImageDataset

    if not spec.topic:
        raise ValueError(f"data.unlabeled.topic is required for rosbag {spec.path}")
    stream = BagImageDataset(spec.path, spec.topic, every=spec.frame_step)
    return Materialized(stream, height, width, spec.max_samples, f"{spec.path} {spec.topic}")


def build_unlabeled(spec: UnlabeledConfig, data: DataConfig) -> Any | None:
    """Unlabeled images for output-level KD (the unlabeled kinds of :mod:`.dataset_kinds`), or None when
    ``kind`` is ``none``. Streams (videos, rosbags) are read once up front, at most ``max_samples``."""
    if spec.kind == NO_UNLABELED:
        return None
    kind = dataset_kind(UNLABELED, spec.kind, what="unlabeled kind")
    samples = kind.open(spec, data.height, data.width, True)
    if len(samples) == 0:
        raise ValueError(f"unlabeled {spec.kind} source {spec.path or '<synthetic>'} has no images")
    return Truncated(samples, spec.max_samples) if spec.max_samples > 0 else samples
