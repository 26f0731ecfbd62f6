"""Teacher pseudo-labels for auxiliary unlabeled images, optionally cached on disk (Hu et al. 2021, Sec. 3.3).

Hu et al. train the student on the teacher's predicted depth for unlabeled images. The teacher is
frozen, so its prediction for an image never changes: :class:`PseudoLabelCache` runs it once per image
and stores the depth as float16 ``.npy`` (loaded with ``allow_pickle=False``) under
``<directory>/<namespace>/<index>-<image hash>.npy``. The namespace holds a key of the teacher (content
digest of its files and its metric scale), the pseudo-label source and the input size, so a different
teacher, scale or resolution never reads stale labels; the image hash catches a dataset whose item
``index`` now holds a different image. Files are written atomically (concurrent DDP ranks are safe).
Labels are always rounded through float16, cached or not, so a run gives the same result whether or
not a label was already on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from disdepth_core.files import atomic_write

TeacherFn = Callable[[Tensor], Tensor]


def cache_namespace(teacher_key: str, source: str, height: int, width: int) -> str:
    """Directory name identifying (teacher, pseudo-label source, input size); ``teacher_key`` changes
    whenever the teacher's files or metric scale do (:func:`teacher_key`)."""
    return f"{teacher_key}-{source}-{height}x{width}"


def teacher_key(digest: str, scale: Any) -> str:
    """``digest`` of the teacher's files, plus a hash of its metric scale (a dict or None)."""
    scale_hash = hashlib.sha1(json.dumps(scale, sort_keys=True).encode()).hexdigest()[:8]
    return f"{digest}-{scale_hash}"


class PseudoLabelCache:
    """``cache(images, indices, keys) -> B x 1 x H x W`` teacher depth; disk-backed when ``directory`` is set.

    ``teacher`` maps normalised images (B x 3 x H x W) to depth (B x 1 x H x W); it runs under
    ``torch.no_grad`` on the cache misses only. ``hits`` / ``misses`` count items served.
    """

    def __init__(self, teacher: TeacherFn, directory: str | os.PathLike[str] | None, namespace: str) -> None:
        self.teacher = teacher
        self.directory = Path(directory) / namespace if directory else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0

    def path(self, index: int, key: str) -> Path:
        if self.directory is None:
            raise RuntimeError("this pseudo-label cache has no directory")
        return self.directory / f"{int(index):08d}-{key}.npy"

    def __call__(self, images: Tensor, indices: Sequence[int] | Tensor, keys: Sequence[str]) -> Tensor:
        indices = [int(i) for i in indices]
        labels: list[Tensor | None] = [None] * len(indices)
        if self.directory is not None:
            for n, (index, key) in enumerate(zip(indices, keys, strict=True)):
                path = self.path(index, key)
                if path.is_file():
                    labels[n] = self._read(path, images.shape[-2:])
        missing = [n for n, label in enumerate(labels) if label is None]
        self.hits += len(indices) - len(missing)
        self.misses += len(missing)
        if missing:
            with torch.no_grad():
                depth = self.teacher(images[missing]).float().cpu().to(torch.float16)
            for row, n in enumerate(missing):
                labels[n] = depth[row]
                if self.directory is not None:
                    array = depth[row].numpy()
                    atomic_write(self.path(indices[n], keys[n]), lambda tmp, a=array: _save_npy(tmp, a))
        return torch.stack(labels).to(images.device, torch.float32)

    @staticmethod
    def _read(path: Path, hw: torch.Size) -> Tensor | None:
        """A cached label, or None when it is unreadable or of the wrong size (then recomputed)."""
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None
        if array.dtype != np.float16 or array.shape != (1, *hw):
            return None
        return torch.from_numpy(array)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array, allow_pickle=False)
