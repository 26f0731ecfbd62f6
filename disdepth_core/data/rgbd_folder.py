"""A folder of RGB-D frames as ``.npz`` files (e.g. the ``real_dev`` evaluation set), read safely.

Each ``NAME.npz`` holds ``rgb`` (uint8 H x W x 3, RGB), ``depth`` (float32 metres, 0 or NaN = invalid)
and ``K`` (3 x 3; all zeros when unknown), optionally ``K_nominal`` (typical intrinsics of the sensor,
used when ``K`` is unknown and reported as such). A frame's source is its ``src`` in the folder's
optional ``index.json`` (a list of ``{"name", "src", ...}`` objects), else its name up to the first
``_`` (``7scenes_000040`` -> ``7scenes``); hold out by source, never by frame. An entry's
``mount`` (``height_m``, ``ground_normal`` in the optical frame pointing up: the camera's calibrated
mounting, as a robot's TF would give it) becomes the sample's ``mount`` for the ground-plane scale.
Files are read with ``allow_pickle=False`` and images larger than ``MAX_PIXELS`` are refused, so a
hostile file can neither run code nor exhaust memory.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disdepth_core.scale import CameraMount

__all__ = ["MAX_PIXELS", "RGBDFolder", "RGBDFrame"]

MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class RGBDFrame:
    """One frame: image, metric ground truth, intrinsics (None when unknown) and where K came from."""

    name: str
    source: str
    image: np.ndarray
    depth: np.ndarray
    K: np.ndarray | None
    k_kind: str  # "calibrated", "nominal" or "unknown"
    mount: CameraMount | None = None

    def sample(self) -> dict[str, object]:
        """The frame as a dataset sample (``image``, ``depth``, ``K`` and ``mount`` if known, ``group``)."""
        sample: dict[str, object] = {"image": self.image, "depth": self.depth, "group": self.source}
        if self.K is not None:
            sample["K"] = self.K
        if self.mount is not None:
            sample["mount"] = self.mount
        return sample


class RGBDFolder:
    """The frames of ``root`` in name order; ``sources`` keeps only frames of those sources."""

    def __init__(self, root: str | Path, sources: tuple[str, ...] | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"RGB-D folder {self.root} does not exist (a directory of .npz frames)")
        files = sorted(self.root.glob("*.npz"))
        if not files:
            raise FileNotFoundError(f"RGB-D folder {self.root} holds no .npz frames")
        entries = self._index_entries()
        self._mounts = {name: _mount(entry, self.root) for name, entry in entries.items()}
        self._files = []
        self._sources = []
        for path in files:
            source = str(entries.get(path.stem, {}).get("src") or path.stem.split("_", 1)[0])
            if sources is None or source in sources:
                self._files.append(path)
                self._sources.append(source)
        if not self._files:
            raise ValueError(f"no frame of {self.root} is from the sources {sources}")

    def _index_entries(self) -> dict[str, dict]:
        index = self.root / "index.json"
        if not index.is_file():
            return {}
        try:
            entries = json.loads(index.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{index}: not valid JSON ({error})") from None
        if not isinstance(entries, list):
            raise ValueError(f"{index}: expected a list of frame entries")
        return {str(e["name"]): e for e in entries if isinstance(e, dict) and "name" in e}

    def __len__(self) -> int:
        return len(self._files)

    @property
    def sources(self) -> list[str]:
        """Source of each frame, in frame order."""
        return list(self._sources)

    def __getitem__(self, index: int) -> dict[str, object]:
        return self.frame(index).sample()

    def __iter__(self) -> Iterator[RGBDFrame]:
        for index in range(len(self)):
            yield self.frame(index)

    def frame(self, index: int) -> RGBDFrame:
        """Read frame ``index``; ValueError naming the file when it is malformed."""
        path = self._files[index]
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in ("rgb", "depth", "K", "K_nominal") if key in data}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
            raise ValueError(f"{path}: not a readable .npz frame ({error})") from None
        missing = [key for key in ("rgb", "depth") if key not in arrays]
        if missing:
            raise ValueError(f"{path}: missing array(s) {missing}; expected rgb, depth and K")
        rgb, depth = arrays["rgb"], arrays["depth"]
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"{path}: rgb must be uint8 H x W x 3, got {rgb.dtype} {rgb.shape}")
        if rgb.shape[0] * rgb.shape[1] > MAX_PIXELS:
            raise ValueError(f"{path}: image {rgb.shape[1]}x{rgb.shape[0]} exceeds {MAX_PIXELS} pixels")
        if depth.shape != rgb.shape[:2]:
            raise ValueError(f"{path}: depth {depth.shape} does not match rgb {rgb.shape[:2]}")
        k, kind = _intrinsics(arrays)
        frame = RGBDFrame(path.stem, self._sources[index], rgb, depth.astype(np.float32), k, kind)
        mount = self._mounts.get(path.stem)
        return frame if mount is None else dataclasses.replace(frame, mount=mount)


def _mount(entry: dict, root: Path) -> CameraMount | None:
    """The entry's ``mount`` (None when absent); ValueError naming the index for a malformed one."""
    mount = entry.get("mount")
    if not mount:
        return None
    try:
        return CameraMount(
            float(mount["height_m"]), tuple(float(v) for v in mount["ground_normal"]), "index.json mount"
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"{root / 'index.json'}: frame {entry['name']}: bad mount {mount!r} ({error})"
        ) from None


def _intrinsics(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray | None, str]:
    for key, kind in (("K", "calibrated"), ("K_nominal", "nominal")):
        k = arrays.get(key)
        if k is not None and k.size == 9 and np.all(np.isfinite(k)) and k.reshape(3, 3)[0, 0] > 0:
            return k.reshape(3, 3).astype(np.float64), kind
    return None, "unknown"
