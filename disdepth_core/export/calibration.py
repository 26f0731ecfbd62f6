"""Calibration/validation images for int8 quantization and engine checks, as normalised model inputs.

Sources: an image folder, a rosbag (``--calib BAG --calib-topic T``) or, with no source, procedural
synthetic scenes (``disdepth_core.data.synthetic``; fine for checking an engine, a poor stand-in for
calibrating one: calibrate on the robot's own images). Folders are listed with
``disdepth_core.data.unlabeled.find_images`` and bags read with ``disdepth_core.bags``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from disdepth_core.model_info import ModelInfo
from disdepth_core.runtime.image_ops import ResizePlan, preprocess

BAG_SUFFIXES = (".mcap", ".db3")


def _is_bag(path: Path) -> bool:
    return path.suffix in BAG_SUFFIXES or (path.is_dir() and (path / "metadata.yaml").is_file())


def _folder_images(folder: Path) -> Iterator[np.ndarray]:
    from disdepth_core.data.unlabeled import find_images

    files = find_images(folder)
    if not files:
        raise ValueError(f"{folder}: no images found for calibration")
    for file in files:
        bgr = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"{file}: unreadable image")
        yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _bag_images(bag: Path, topic: str | None) -> Iterator[np.ndarray]:
    if not topic:
        raise ValueError(f"{bag}: a rosbag calibration source needs --calib-topic")
    from disdepth_core.bags import iter_bag_images

    for _stamp, image in iter_bag_images(bag, topic):
        yield image


def _synthetic_images(height: int, width: int) -> Iterator[np.ndarray]:
    from disdepth_core.data.synthetic import render_scene

    for seed in itertools.count(1000):
        yield render_scene(seed, height, width, "room")["image"]


def calibration_images(
    source: str | Path | None, topic: str | None = None, size_hw: tuple[int, int] = (240, 320)
) -> Iterator[np.ndarray]:
    """uint8 RGB images from a folder, a bag (with ``topic``) or synthetic scenes (``source=None``)."""
    if source is None:
        return _synthetic_images(*size_hw)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"calibration source not found: {path}")
    if _is_bag(path):
        return _bag_images(path, topic)
    if path.is_dir():
        return _folder_images(path)
    raise ValueError(f"{path}: calibration source must be an image folder or a rosbag (.mcap/.db3/dir)")


def model_batches(images: Iterable[np.ndarray], info: ModelInfo, limit: int) -> list[np.ndarray]:
    """Up to ``limit`` normalised 1 x 3 x H x W batches at the model's input size (runtime pre-processing)."""
    model_hw = (info.input_height, info.input_width)
    batches = []
    for image in itertools.islice(images, limit):
        plan = ResizePlan.create(image.shape[:2], model_hw, "resize")
        batches.append(preprocess(image, plan, info.mean, info.std, info.color_order))
    if not batches:
        raise ValueError("the calibration source yielded no images")
    return batches
