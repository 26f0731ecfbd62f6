"""Unlabeled training samples from a ROS 2 bag's image topic (read through ``disdepth_core.bags``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from torch.utils.data import IterableDataset, get_worker_info

from disdepth_core.bags import iter_bag_images, read_camera_k

__all__ = ["BagImageDataset"]


class BagImageDataset(IterableDataset):
    """Unlabeled samples (``image``, ``stamp_ns``, plus ``K`` when ``camera_info_topic`` is given).

    With several DataLoader workers, each takes every ``num_workers``-th kept frame.
    """

    def __init__(
        self, bag_path: str | Path, topic: str, every: int = 1, camera_info_topic: str | None = None
    ) -> None:
        self.bag_path, self.topic, self.every = Path(bag_path), topic, every
        self.k = read_camera_k(bag_path, camera_info_topic) if camera_info_topic else None

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        info = get_worker_info()
        worker, n_workers = (0, 1) if info is None else (info.id, info.num_workers)
        for i, (stamp, image) in enumerate(iter_bag_images(self.bag_path, self.topic, self.every)):
            if i % n_workers != worker:
                continue
            sample = {"image": image, "stamp_ns": np.int64(stamp)}
            if self.k is not None:
                sample["K"] = self.k.copy()
            yield sample
