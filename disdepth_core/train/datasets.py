"""Datasets named by a training config (``data.train``, ``data.val``, ``data.unlabeled``).

Labeled: ``synthetic`` (procedural scenes rendered at the training size,
``disdepth_core.data.synthetic_dataset.SyntheticDepthDataset``; kinds default to ``room``), ``nyu`` and
``kitti`` (``disdepth_core.data`` loaders), ``pseudo_labels`` (the teacher-labelled frames of a
``disdepth distill-bag`` run, :mod:`disdepth_core.train.distill_bag.labels`). Unlabeled: ``synthetic``
(the same renderer with the depth dropped, from a disjoint seed), ``folder``, ``video`` and ``rosbag``
readers. Samples become training batches in :mod:`disdepth_core.train.batches`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from .config import DataConfig, DatasetConfig, UnlabeledConfig


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


def _synthetic(
    size: int, seed: int, kinds: list[str], data: DataConfig, spec: DatasetConfig | None = None
) -> Any:
    """Renderer scenes at the training size; ``spec`` (labeled sets) adds camera effects, texture
    groups and the render cache."""
    from disdepth_core.data.photometric import Photometric
    from disdepth_core.data.synthetic_dataset import SyntheticDepthDataset

    options: dict[str, Any] = {}
    if spec is not None:
        options = {
            "photometric": Photometric() if spec.photometric else None,
            "texture_groups": tuple(spec.textures) or None,
            "real_unlabeled": spec.real_unlabeled or None,
            "cache_dir": spec.cache_dir or None,
        }
    return SyntheticDepthDataset(
        size, data.height, data.width, seed=seed, kinds=tuple(kinds or ["room"]), **options
    )


def build_labeled(spec: DatasetConfig, data: DataConfig) -> Any:
    """The sample dataset described by ``spec`` (``data.train`` or ``data.val``).

    ``nyu``: ``list_file`` (BTS list, paths under ``root``) or ``root/nyu_depth_v2_labeled.mat`` with
    ``root/splits.mat`` (``split`` train/test). ``kitti``: ``list_file`` + ``root`` (raw KITTI) +
    ``gt_root`` (annotated depth; default ``root``), KITTI-benchmark crop.
    """
    if spec.kind == "synthetic":
        samples = _synthetic(spec.size, spec.seed, spec.kinds, data, spec)
    elif spec.kind == "nyu":
        samples = open_nyu(spec.root, spec.split, spec.list_file, spec.gt_root)
    elif spec.kind == "kitti":
        samples = open_kitti(spec.root, spec.list_file, spec.gt_root)
    elif spec.kind == "pseudo_labels":
        from .distill_bag.labels import CachedFrames

        samples = CachedFrames(spec.root, spec.split)
    else:
        raise ValueError(f"unknown dataset kind {spec.kind!r}")
    if len(samples) == 0:
        raise ValueError(f"{spec.kind} dataset at {spec.root or '<synthetic>'} ({spec.split}) is empty")
    return Truncated(samples, spec.max_samples) if spec.max_samples > 0 else samples


def open_nyu(root: str, split: str, list_file: str = "", gt_root: str = "") -> Any:
    """NYU Depth V2 from a BTS list or the labeled ``.mat`` + ``splits.mat`` under ``root``."""
    from disdepth_core.data.nyu import NYUListDataset, NYUv2LabeledDataset

    if list_file:
        return NYUListDataset(list_file, root, gt_root or None)
    root_path = Path(root)
    mat = root_path / "nyu_depth_v2_labeled.mat"
    splits = root_path / "splits.mat"
    if not mat.is_file():
        raise FileNotFoundError(
            f"{mat} not found: give the directory holding nyu_depth_v2_labeled.mat (+ splits.mat), "
            "or a BTS list file"
        )
    if split in ("val", "validation"):
        split = "test"
    return NYUv2LabeledDataset(mat, split=split, splits_path=splits if split != "all" else None)


def open_kitti(root: str, list_file: str, gt_root: str = "", kb_crop: bool = True) -> Any:
    """KITTI (Eigen split) from a BTS list; images under ``root``, ground truth under ``gt_root``.

    ``kb_crop``: the 352 x 1216 KITTI-benchmark crop (training); evaluation uses full frames + Garg crop.
    """
    from disdepth_core.data.kitti import KITTIListDataset

    if not list_file:
        raise ValueError(f"KITTI needs a BTS list file (image gt focal per line) for data root {root}")
    return KITTIListDataset(list_file, root, gt_root or None, kb_crop=kb_crop)


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


def build_unlabeled(spec: UnlabeledConfig, data: DataConfig) -> Any | None:
    """Unlabeled images for output-level KD, or None when ``kind`` is ``none``.

    Videos and rosbags are streams: their frames are read once up front (``Materialized``), every
    ``frame_step``-th frame, at most ``max_samples`` of them.
    """
    if spec.kind == "none":
        return None
    if spec.kind == "synthetic":
        samples: Any = WithoutDepth(_synthetic(spec.size, spec.seed, spec.kinds, data))
    elif spec.kind == "folder":
        from disdepth_core.data.unlabeled import ImageFolderDataset

        samples = ImageFolderDataset(spec.path)
    elif spec.kind == "video":
        from disdepth_core.data.unlabeled import VideoFramesDataset

        stream = VideoFramesDataset(spec.path, every=spec.frame_step)
        samples = Materialized(stream, data.height, data.width, spec.max_samples, spec.path)
    elif spec.kind == "rosbag":
        from disdepth_core.data.bag_images import BagImageDataset

        if not spec.topic:
            raise ValueError(f"data.unlabeled.topic is required for rosbag {spec.path}")
        stream = BagImageDataset(spec.path, spec.topic, every=spec.frame_step)
        samples = Materialized(stream, data.height, data.width, spec.max_samples, f"{spec.path} {spec.topic}")
    else:
        raise ValueError(f"unknown unlabeled kind {spec.kind!r}")
    if len(samples) == 0:
        raise ValueError(f"unlabeled {spec.kind} source {spec.path or '<synthetic>'} has no images")
    return Truncated(samples, spec.max_samples) if spec.max_samples > 0 else samples
