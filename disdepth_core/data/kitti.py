"""KITTI Eigen split with BTS-style lists and the annotated depth maps (Uhrig et al. 2017).

List lines: ``image_path gt_depth_path focal``, e.g.
``2011_09_26/2011_09_26_drive_0002_sync/image_02/data/0000000069.png
2011_09_26_drive_0002_sync/proj_depth/groundtruth/image_02/0000000069.png 721.5377``; a gt path of
``None`` (some Eigen test frames have no annotation) skips the line. Images are relative to
``data_root`` (raw KITTI layout), depths to ``gt_root`` (the annotated depth tree). Depth PNGs are
uint16 / 256 metres, 0 = invalid.

Intrinsics: ``P_rect_02`` from ``<data_root>/<date>/calib_cam_to_cam.txt`` when present, else
fx = fy = the list's focal with the principal point at the image centre. ``kb_crop`` applies the
352 x 1216 KITTI-benchmark crop (bottom rows, centred columns) and shifts K.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from disdepth_core.data.augment import crop
from disdepth_core.data.nyu import read_depth_png, read_list_file, read_rgb
from disdepth_core.data.synthetic_dataset import Augmentation, augmentation_rng

KB_CROP_HEIGHT, KB_CROP_WIDTH = 352, 1216
KITTI_DEPTH_SCALE = 256.0


@lru_cache(maxsize=64)
def read_kitti_calib_k(calib_path: Path, camera: str = "02") -> np.ndarray:
    """K (3 x 3 float32) of rectified camera ``camera`` from ``calib_cam_to_cam.txt`` (``P_rect_XX``)."""
    key = f"P_rect_{camera}:"
    for line in calib_path.read_text().splitlines():
        if line.startswith(key):
            values = np.array([float(v) for v in line[len(key) :].split()])
            if values.size != 12:
                raise ValueError(f"{calib_path}: {key} needs 12 numbers, got {values.size}")
            return values.reshape(3, 4)[:, :3].astype(np.float32)
    raise KeyError(f"{calib_path}: no {key} line; is this a KITTI calib_cam_to_cam.txt?")


def kb_crop_offsets(height: int, width: int) -> tuple[int, int]:
    """(top, left) of the KITTI-benchmark 352 x 1216 crop."""
    if height < KB_CROP_HEIGHT or width < KB_CROP_WIDTH:
        raise ValueError(
            f"a {height}x{width} image is smaller than the KB crop {KB_CROP_HEIGHT}x{KB_CROP_WIDTH}"
        )
    return height - KB_CROP_HEIGHT, (width - KB_CROP_WIDTH) // 2


class KITTIListDataset(Dataset):
    """BTS-style KITTI Eigen list; samples ``image``, ``depth`` (metres, 0 invalid), ``K``."""

    def __init__(
        self,
        list_file: str | Path,
        data_root: str | Path,
        gt_root: str | Path | None = None,
        kb_crop: bool = True,
        augment: Augmentation | None = None,
    ) -> None:
        rows = read_list_file(list_file, 3)
        self.rows = [r for r in rows if r[1] != "None"]
        self.n_without_gt = len(rows) - len(self.rows)
        self.data_root = Path(data_root)
        self.gt_root = Path(gt_root) if gt_root is not None else self.data_root
        self.kb_crop, self.augment = kb_crop, augment

    def __len__(self) -> int:
        return len(self.rows)

    def intrinsics(self, image_path: str, focal: float, height: int, width: int) -> np.ndarray:
        """K from the drive date's calibration file, else from the list's focal."""
        calib = self.data_root / Path(image_path.lstrip("/")).parts[0] / "calib_cam_to_cam.txt"
        if calib.is_file():
            return read_kitti_calib_k(calib).copy()
        return np.array([[focal, 0, (width - 1) / 2], [0, focal, (height - 1) / 2], [0, 0, 1]], np.float32)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        rgb, depth, focal = self.rows[index]
        image = read_rgb(self.data_root / rgb.lstrip("/"))
        gt = read_depth_png(self.gt_root / depth.lstrip("/"), KITTI_DEPTH_SCALE)
        if image.shape[:2] != gt.shape:
            raise ValueError(f"{rgb} and {depth} differ in size ({image.shape[:2]} vs {gt.shape})")
        sample = {"image": image, "depth": gt, "K": self.intrinsics(rgb, float(focal), *gt.shape)}
        if self.kb_crop:
            top, left = kb_crop_offsets(*gt.shape)
            sample = crop(sample, top, left, KB_CROP_HEIGHT, KB_CROP_WIDTH)
        return sample if self.augment is None else self.augment(sample, augmentation_rng())
