"""Unlabeled images for teacher pseudo-labelling (Hu et al. 2105.06143): image folders and videos.

Samples are ``{"image": uint8 H x W x 3 RGB}`` plus ``K`` when the caller knows the camera. Rosbag
image topics are in ``bag_images``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from disdepth_core.data.nyu import read_rgb
from disdepth_core.data.synthetic_dataset import Augmentation, augmentation_rng

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def find_images(root: str | Path, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> list[Path]:
    """Image files under ``root`` (recursive), sorted by path; case-insensitive extensions."""
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a directory of images")
    exts = {e.lower() for e in extensions}
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts)


class ImageFolderDataset(Dataset):
    """All images under a folder (recursive, sorted); ``K`` (3 x 3) is attached when given."""

    def __init__(
        self,
        root: str | Path,
        K: np.ndarray | None = None,  # noqa: N803 (the conventional name)
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        augment: Augmentation | None = None,
    ) -> None:
        self.paths = find_images(root, extensions)
        if not self.paths:
            raise FileNotFoundError(f"{root}: no images with extensions {tuple(extensions)}")
        self.k = None if K is None else np.asarray(K, dtype=np.float32)
        self.augment = augment

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        sample = {"image": read_rgb(self.paths[index])}
        if self.k is not None:
            sample["K"] = self.k.copy()
        return sample if self.augment is None else self.augment(sample, augmentation_rng())


def iter_video_frames(
    path: str | Path, every: int = 1, max_frames: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """``(frame_index, rgb)`` for every ``every``-th frame of a video file (decoded with OpenCV)."""
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video file")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{path}: OpenCV cannot open this video (unsupported codec or not a video)")
    try:
        index = kept = 0
        while max_frames is None or kept < max_frames:
            if index % every == 0:
                ok, frame = cap.read()
                if not ok:
                    break
                yield index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                kept += 1
            elif not cap.grab():  # skip without decoding
                break
            index += 1
    finally:
        cap.release()
    if index == 0:
        raise ValueError(f"{path}: no frame could be decoded")


class VideoFramesDataset(IterableDataset):
    """Unlabeled samples from a video (every ``every``-th frame); workers split frames round-robin."""

    def __init__(
        self,
        path: str | Path,
        every: int = 1,
        K: np.ndarray | None = None,  # noqa: N803
        augment: Augmentation | None = None,
    ) -> None:
        self.path, self.every, self.augment = Path(path), every, augment
        self.k = None if K is None else np.asarray(K, dtype=np.float32)

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        info = get_worker_info()
        worker, n_workers = (0, 1) if info is None else (info.id, info.num_workers)
        for i, (_, image) in enumerate(iter_video_frames(self.path, self.every)):
            if i % n_workers != worker:
                continue
            sample = {"image": image}
            if self.k is not None:
                sample["K"] = self.k.copy()
            yield sample if self.augment is None else self.augment(sample, augmentation_rng())
