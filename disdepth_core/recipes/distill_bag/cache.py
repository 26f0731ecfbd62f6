"""The distill-bag frame cache: each kept frame with the teacher's raw output, computed once (Hu et al. 3.3).

``ROOT/frames/NNNNNN.npz`` (written atomically, read with ``allow_pickle=False``) holds:

- ``image``: uint8 RGB, the whole frame resized to the student's input size (area interpolation when
  shrinking). Whole and stretched, exactly as the runtime resizes a camera frame for the model, so the
  student trains on what the node will feed it and a camera-aware student's focal length maps the same
  way (``fx * input_width / image_width``);
- ``raw``: float32, the teacher's own output (its ``output_kind``, no metric scale yet) at the same
  size. The teacher sees the frame at *its* processing resolution (the Hugging Face image processor's
  size, the ONNX card's size, or ``teacher_size``), not the student's;
- ``stamp``, ``bag``, ``native_hw`` and, when a depth topic paired a frame, ``depth`` (float32 metres
  of the whole depth image, NaN invalid; registered to the colour image) and ``depth_stamp``.

Raw outputs (not metres) are cached so that the scale source can change without rerunning the teacher.
``ROOT/index.json`` lists every frame (id, bag, stamp, whether it has depth, intrinsics ``K`` at the cached
size when the bag has camera info) and
the cache's key (teacher digest, sizes, frame selection). Resume: frames already on disk are kept when
the key matches; the rest are computed. Under DDP each rank computes the frames with ``id % world ==
rank`` and rank 0 writes the index.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from disdepth_core.files import atomic_write, write_json
from disdepth_core.models.normalization import IMAGENET_NORM
from disdepth_core.train.batches import normalize_image

from .frames import BagFrame, Topics, count_images, iter_frames

CACHE_VERSION = 2


def resize_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area interpolation when shrinking, bilinear when enlarging (OpenCV)."""
    if image.shape[:2] == (height, width):
        return image
    shrink = height * width < image.shape[0] * image.shape[1]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def teacher_size(
    teacher: nn.Module, height: int, width: int, fixed: tuple[int, int] | None, max_side: int
) -> tuple[int, int]:
    """The resolution the teacher runs at for a ``height x width`` frame: ``fixed`` if given, else its
    processing size (Hugging Face processor, ONNX card; the frame rounded to 32 for disdepth models),
    shrunk with its aspect ratio kept so that its longer side is at most ``max_side`` (0: no limit)."""
    if fixed is not None:
        return fixed
    processing = getattr(teacher, "processing_size", None)
    size = processing(height, width) if processing is not None else (height, width)
    if max_side and max(size) > max_side:
        size = (size[0] * max_side // max(size), size[1] * max_side // max(size))
    multiple = 32 if processing is None else 1  # foundation teachers round to their own patch size
    return tuple(max(multiple, round(s / multiple) * multiple) for s in size)


@torch.no_grad()
def teacher_raw(
    teacher: nn.Module, image: np.ndarray, out_hw: tuple[int, int], device: torch.device
) -> np.ndarray:
    """The teacher's raw output for an RGB image, resized to ``out_hw`` (float32)."""
    x = normalize_image(image, getattr(teacher, "input_norm", IMAGENET_NORM))[None].to(device)
    raw = teacher.raw_output(x) if hasattr(teacher, "raw_output") else teacher(x).depth
    raw = raw.float()
    if tuple(raw.shape[-2:]) != out_hw:
        shrink = out_hw[0] * out_hw[1] < raw.shape[-2] * raw.shape[-1]
        raw = F.interpolate(raw, size=out_hw, mode="bilinear", align_corners=False, antialias=shrink)
    return raw[0, 0].cpu().numpy().astype(np.float32)


@dataclass(frozen=True)
class CacheKey:
    """What the cached content depends on; a cache with another key is not reused."""

    teacher: str
    height: int
    width: int
    teacher_size: tuple[int, int] | None
    teacher_max_side: int
    bags: tuple[str, ...]
    topics: tuple[str | None, str | None]
    every: int
    max_frames: int
    tolerance_ns: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": CACHE_VERSION,
            "teacher": self.teacher,
            "size": [self.height, self.width],
            "teacher_size": list(self.teacher_size) if self.teacher_size else None,
            "teacher_max_side": self.teacher_max_side,
            "bags": list(self.bags),
            "topics": list(self.topics),
            "every": self.every,
            "max_frames": self.max_frames,
            "tolerance_ns": self.tolerance_ns,
        }


@dataclass
class CacheReport:
    """Frames in the cache, how many were computed now and how many were already there."""

    frames: int
    computed: int
    reused: int
    with_depth: int


class FrameCache:
    """Read access to a built cache (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        index_path = self.root / "index.json"
        if not index_path.is_file():
            raise FileNotFoundError(
                f"{self.root}: no index.json; the distill-bag pseudo-label stage builds it"
            )
        index = json.loads(index_path.read_text(encoding="utf-8"))
        self.key: dict[str, Any] = index["key"]
        self.frames: list[dict[str, Any]] = index["frames"]

    def path(self, frame_id: int) -> Path:
        return frame_path(self.root, frame_id)

    def load(self, frame_id: int, keys: Sequence[str] = ("image", "raw")) -> dict[str, np.ndarray]:
        """Arrays ``keys`` of one frame (``depth`` is absent for frames without a depth partner)."""
        with np.load(self.path(frame_id), allow_pickle=False) as data:
            return {key: data[key] for key in keys if key in data.files}


def frame_path(root: Path, frame_id: int) -> Path:
    return root / "frames" / f"{frame_id:06d}.npz"


def _readable(path: Path) -> bool:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {"image", "raw", "stamp", "bag", "native_hw"} <= set(data.files)
    except (OSError, ValueError, EOFError):
        return False


def _write_frame(path: Path, arrays: dict[str, np.ndarray]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    atomic_write(path, write)


def build_cache(
    root: Path,
    key: CacheKey,
    bags: Sequence[Path],
    topics: Topics,
    teacher: nn.Module,
    intrinsics: Sequence[np.ndarray | None],
    device: torch.device,
    rank: int = 0,
    world_size: int = 1,
    progress: bool = True,
    barrier: Callable[[], None] = lambda: None,
) -> CacheReport:
    """Compute this rank's missing frames, then (rank 0) write ``index.json``; see the module docstring.

    ``intrinsics`` holds each bag's native 3 x 3 ``K`` (None without camera info).
    """
    index_path = root / "index.json"
    if index_path.is_file() and json.loads(index_path.read_text(encoding="utf-8"))["key"] != key.to_dict():
        raise ValueError(
            f"{root} holds pseudo-labels made with other settings (teacher, size, bags, topics or frame "
            "selection); use a new --out or delete that directory"
        )
    counts = count_images(bags, topics)
    kept = [len(range(0, n, key.every)) for n in counts]
    total = sum(kept) if key.max_frames <= 0 else min(sum(kept), key.max_frames)
    mine = {i for i in range(total) if i % world_size == rank}
    done = {i for i in mine if _readable(frame_path(root, i))}
    todo = mine - done
    bar = tqdm(
        total=len(todo), desc="teacher pseudo-labels", unit="frame", disable=not (progress and rank == 0)
    )
    frames = iter_frames(bags, topics, key.every, key.max_frames, key.tolerance_ns, wanted=todo)
    with bar:
        for frame_id, frame in frames:
            _write_frame(frame_path(root, frame_id), _frame_arrays(frame, key, teacher, device))
            bar.update(1)
    barrier()
    if rank == 0:
        entries = [_entry(root, i, intrinsics, key) for i in range(total)]
        write_json(index_path, {"key": key.to_dict(), "frames": entries})
    barrier()
    with_depth = sum(e["has_depth"] for e in json.loads(index_path.read_text(encoding="utf-8"))["frames"])
    return CacheReport(total, len(todo), len(done), with_depth)


def teacher_raw_for(
    teacher: nn.Module,
    image: np.ndarray,
    out_hw: tuple[int, int],
    device: torch.device,
    fixed: tuple[int, int] | None = None,
    max_side: int = 0,
) -> np.ndarray:
    """The teacher's raw output for a whole RGB frame: the frame resized to the teacher's resolution
    (:func:`teacher_size`), the output resized to ``out_hw``."""
    size = teacher_size(teacher, *image.shape[:2], fixed, max_side)
    return teacher_raw(teacher, resize_image(image, *size), out_hw, device)


def _frame_arrays(frame: BagFrame, key: CacheKey, teacher: nn.Module, device: torch.device) -> dict[str, Any]:
    out_hw = (key.height, key.width)
    arrays: dict[str, Any] = {
        "image": resize_image(frame.image, *out_hw),
        "raw": teacher_raw_for(teacher, frame.image, out_hw, device, key.teacher_size, key.teacher_max_side),
        "stamp": np.int64(frame.stamp_ns),
        "bag": np.int64(frame.bag),
        "native_hw": np.asarray(frame.image.shape[:2], np.int64),
    }
    if frame.depth is not None:
        arrays["depth"] = frame.depth.astype(np.float32)
        arrays["depth_stamp"] = np.int64(frame.depth_stamp_ns)
    return arrays


def _entry(
    root: Path, frame_id: int, intrinsics: Sequence[np.ndarray | None], key: CacheKey
) -> dict[str, Any]:
    with np.load(frame_path(root, frame_id), allow_pickle=False) as data:
        bag, stamp, native_hw = int(data["bag"]), int(data["stamp"]), data["native_hw"].tolist()
        has_depth = "depth" in data.files
    k = intrinsics[bag]
    if k is not None:  # the frame is resized whole: scale the rows of K to the cached size
        k = np.diag([key.width / native_hw[1], key.height / native_hw[0], 1.0]) @ np.asarray(k, np.float64)
    return {
        "id": frame_id,
        "bag": bag,
        "stamp_ns": stamp,
        "has_depth": has_depth,
        "K": None if k is None else k.tolist(),
    }
