"""NYU Depth V2 (Silberman et al. 2012): the official labeled .mat and BTS-style file lists.

- ``NYUv2LabeledDataset``: ``nyu_depth_v2_labeled.mat`` (MATLAB v7.3 = HDF5) with datasets ``images``
  (N x 3 x W x H uint8, MATLAB's column-major order seen transposed by HDF5) and ``depths`` (N x W x H
  float32 metres). The official split is ``splits.mat`` (``trainNdxs`` / ``testNdxs``, 1-based, 795 /
  654 images) or an explicit list of 0-based indices.
- ``NYUListDataset``: BTS / AdaBins lists, one ``rgb_path depth_path focal`` per line, e.g.
  ``/kitchen_0028b/rgb_00045.jpg /kitchen_0028b/sync_depth_00045.png 518.8579``; depth PNGs are
  uint16 millimetres (``/ 1000``), 0 = invalid; paths are relative to the data root.

Intrinsics: the NYU Kinect calibration (fx 518.8579, fy 519.4696, cx 325.5824, cy 253.7362) at
640 x 480; a list line's focal replaces fx (fy keeps the calibrated fy / fx ratio).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import h5py
import numpy as np
from torch.utils.data import Dataset

from disdepth_core.data.augment import crop
from disdepth_core.data.matfile import load_mat_arrays
from disdepth_core.data.synthetic_dataset import Augmentation, augmentation_rng

NYU_FX, NYU_FY, NYU_CX, NYU_CY = 518.8579, 519.4696, 325.5824, 253.7362
# BTS removes the white border of the projected NYU images for training: (left, top, right, bottom).
BTS_BORDER_CROP = (43, 45, 608, 472)


def nyu_intrinsics(fx: float = NYU_FX) -> np.ndarray:
    """3 x 3 K of the NYU Kinect at 640 x 480 (``fx`` override keeps the fy / fx ratio)."""
    return np.array([[fx, 0, NYU_CX], [0, fx * NYU_FY / NYU_FX, NYU_CY], [0, 0, 1]], dtype=np.float32)


def read_nyu_splits(path: str | Path) -> dict[str, np.ndarray]:
    """``{"train": idx, "test": idx}`` as 0-based int64 arrays from the official ``splits.mat``."""
    arrays = load_mat_arrays(path)
    missing = [k for k in ("trainNdxs", "testNdxs") if k not in arrays]
    if missing:
        raise KeyError(f"{path}: missing {missing}; is this NYU's official splits.mat?")
    return {
        "train": arrays["trainNdxs"].reshape(-1).astype(np.int64) - 1,
        "test": arrays["testNdxs"].reshape(-1).astype(np.int64) - 1,
    }


class NYUv2LabeledDataset(Dataset):
    """The 1449 labeled NYU images from ``nyu_depth_v2_labeled.mat``.

    ``split`` is "train", "test" (needs ``splits_path``) or "all"; ``indices`` (0-based) overrides both.
    The HDF5 file is opened lazily in each worker process.
    """

    def __init__(
        self,
        mat_path: str | Path,
        split: str = "test",
        splits_path: str | Path | None = None,
        indices: Sequence[int] | None = None,
        augment: Augmentation | None = None,
    ) -> None:
        self.mat_path = Path(mat_path)
        if not self.mat_path.is_file():
            raise FileNotFoundError(
                f"{self.mat_path}: no such file; download nyu_depth_v2_labeled.mat (2.8 GB)"
            )
        with h5py.File(self.mat_path, "r") as f:
            missing = [k for k in ("images", "depths") if k not in f]
            if missing:
                raise KeyError(
                    f"{self.mat_path}: datasets {missing} not found; expected the labeled NYU v7.3 .mat"
                )
            n_total = f["images"].shape[0]
        if indices is not None:
            self.indices = np.asarray(indices, dtype=np.int64)
        elif split == "all":
            self.indices = np.arange(n_total)
        elif split in ("train", "test"):
            if splits_path is None:
                raise ValueError(f"split={split!r} needs splits_path (NYU's splits.mat) or explicit indices")
            self.indices = read_nyu_splits(splits_path)[split]
        else:
            raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= n_total):
            raise IndexError(f"{self.mat_path} holds {n_total} images; indices out of range")
        self.augment = augment
        self._file: h5py.File | None = None
        self._pid = -1

    def __len__(self) -> int:
        return len(self.indices)

    def _h5(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            self._file, self._pid = h5py.File(self.mat_path, "r"), os.getpid()
        return self._file

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_file"], state["_pid"] = None, -1
        return state

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        f = self._h5()
        i = int(self.indices[index])
        image = np.ascontiguousarray(f["images"][i].transpose(2, 1, 0))  # 3 x W x H -> H x W x 3
        depth = np.ascontiguousarray(f["depths"][i].T).astype(np.float32)
        sample = {"image": image, "depth": depth, "K": nyu_intrinsics()}
        return sample if self.augment is None else self.augment(sample, augmentation_rng())


def read_list_file(list_file: str | Path, n_fields: int) -> list[list[str]]:
    """Non-empty lines split on whitespace; each must have ``n_fields`` fields."""
    list_file = Path(list_file)
    if not list_file.is_file():
        raise FileNotFoundError(f"{list_file}: no such list file")
    rows = []
    for number, line in enumerate(list_file.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != n_fields:
            raise ValueError(
                f"{list_file}:{number}: expected {n_fields} fields (rgb depth focal), got {line!r}"
            )
        rows.append(fields)
    return rows


def read_rgb(path: Path) -> np.ndarray:
    """uint8 RGB image from a file, naming the file if it cannot be read."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path}: missing or not a readable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_depth_png(path: Path, scale: float) -> np.ndarray:
    """uint16 PNG depth / ``scale`` -> float32 metres (0 stays 0 = invalid)."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise FileNotFoundError(f"{path}: missing or not a readable depth PNG")
    if raw.dtype != np.uint16 or raw.ndim != 2:
        raise ValueError(f"{path}: expected a single-channel uint16 depth PNG, got {raw.dtype} {raw.shape}")
    return raw.astype(np.float32) / scale


class NYUListDataset(Dataset):
    """BTS-style NYU list (``rgb_path depth_path focal``); ``gt_root`` defaults to ``data_root``.

    ``border_crop`` applies BTS's training crop of the white border (``BTS_BORDER_CROP``), moving K.
    """

    def __init__(
        self,
        list_file: str | Path,
        data_root: str | Path,
        gt_root: str | Path | None = None,
        depth_scale: float = 1000.0,
        border_crop: bool = False,
        augment: Augmentation | None = None,
    ) -> None:
        self.rows = read_list_file(list_file, 3)
        self.data_root = Path(data_root)
        self.gt_root = Path(gt_root) if gt_root is not None else self.data_root
        self.depth_scale, self.border_crop, self.augment = depth_scale, border_crop, augment

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        rgb, depth, focal = self.rows[index]
        sample = {
            "image": read_rgb(self.data_root / rgb.lstrip("/")),
            "depth": read_depth_png(self.gt_root / depth.lstrip("/"), self.depth_scale),
            "K": nyu_intrinsics(float(focal)),
        }
        if sample["image"].shape[:2] != sample["depth"].shape:
            raise ValueError(
                f"{rgb} and {depth} differ in size ({sample['image'].shape[:2]} vs {sample['depth'].shape})"
            )
        if self.border_crop:
            left, top, right, bottom = BTS_BORDER_CROP
            sample = crop(sample, top, left, bottom - top, right - left)
        return sample if self.augment is None else self.augment(sample, augmentation_rng())
