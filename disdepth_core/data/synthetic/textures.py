"""Photographic textures for the synthetic renderer, with the licence of every image.

Real photographs on the surfaces of procedural scenes give a depth network real-image statistics
(colour distributions, edges, fine texture) while the geometry, and so the depth, stays exact. The
idea follows FlyingThings3D (Mayer et al., CVPR 2016, sec. 2.2), which textures procedural objects
with crops of real photographs.

Only images whose licence allows shipping a model trained on them are listed, and nothing is copied
into the repository: images are loaded at run time from where they are installed.

- group ``"scikit-image"``: sample images shipped inside the ``scikit-image`` wheel
  (``skimage/data/*.png``), each public domain or CC0 as its ``skimage.data`` docstring states.
- group ``"rtabmap"``: the RTAB-Map sample images (BSD-3-Clause) and group ``"manydepth"``: two frames
  of a CC BY 3.0 driving video, both from the ``real_unlabeled`` folder of the development data
  (``../shared/data/real_unlabeled``); an image is used only if that folder's ``index.json`` states
  the licence this module expects for it.

Roles: a ``"surface"`` texture is a material photograph (brick, grass, gravel) that tiles; a
``"picture"`` is a photograph of the world shown as it is (posters, screens, billboards, random crops
on boxes as in FlyingThings3D).

Textures are stored as uint8 mip pyramids and sampled with mirrored repeat at the mip level that
matches a pixel's footprint (nearest texel), decoded from sRGB to linear reflectance.
"""

from __future__ import annotations

import functools
import hashlib
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "GROUPS",
    "SCIKIT_IMAGE_SOURCES",
    "TextureBank",
    "TextureSource",
    "default_real_unlabeled_root",
    "default_texture_bank",
    "load_texture_bank",
    "real_unlabeled_sources",
]

SCIKIT_IMAGE_REQUIREMENT = "scikit-image==0.26.0"
GROUPS = ("scikit-image", "rtabmap", "manydepth")
MAX_TEXTURE_SIZE = 512  # longest side of the finest mip level, pixels
_MIN_MIP_SIZE = 4
# Licences the real_unlabeled index.json must state for an image to be used (prefix match).
_REAL_UNLABELED_LICENCES = {
    "rtabmap": (
        "BSD-3-Clause",
        "RTAB-Map sample images, Copyright (c) Mathieu Labbe, IntRoLab, Universite de Sherbrooke",
    ),
    "manydepth": (
        "images CC BY 3.0",
        "frames of YouTube video sF0wXxZwISw (CC BY 3.0), cropped and resized in nianticlabs/manydepth",
    ),
}
_SRGB_TO_LINEAR = ((np.arange(256, dtype=np.float32) / 255.0) ** 2.2).astype(np.float32)


@dataclass(frozen=True)
class TextureSource:
    """One image: ``name`` (unique), ``group``, ``role`` ("surface" | "picture"), licence, attribution,
    and ``load()`` -> uint8 H x W x 3 RGB."""

    name: str
    group: str
    role: str
    licence: str
    attribution: str
    load: Callable[[], np.ndarray]


def _skimage_loader(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        try:
            import skimage.data
        except ImportError as exc:
            raise ImportError(
                f"photographic textures need scikit-image: pip install {SCIKIT_IMAGE_REQUIREMENT} "
                "(requirements/train.txt)"
            ) from exc
        image = np.asarray(getattr(skimage.data, name)())
        return _as_rgb(image.astype(np.uint8))

    return load


# (function in skimage.data, role, licence, attribution): licences as stated in each function's docstring.
_SCIKIT_IMAGE_TABLE = (
    (
        "brick",
        "surface",
        "CC0-1.0",
        "Bricks25, CC0Textures (ambientCG); perspective-corrected in scikit-image",
    ),
    ("grass", "surface", "CC0-1.0", "Grass 01 by linolafett (DeviantArt); cropped in scikit-image"),
    ("gravel", "surface", "CC0-1.0", "Gravel04, CC0Textures (ambientCG); cropped in scikit-image"),
    ("coffee", "picture", "CC0-1.0", "Rachel Michetti, courtesy of Pikolo Espresso Bar"),
    ("chelsea", "picture", "CC0-1.0", "Stefan van der Walt"),
    ("camera", "picture", "CC0-1.0", "Lav Varshney"),
    ("astronaut", "picture", "public domain", "NASA (Eileen Collins), NASA Great Images"),
    ("rocket", "picture", "public domain", "SpaceX (DSCOVR launch on Falcon 9)"),
    ("hubble_deep_field", "picture", "public domain", "NASA, HubbleSite (Hubble eXtreme Deep Field)"),
    ("text", "picture", "public domain", "Wikipedia File:Corner.png"),
)
SCIKIT_IMAGE_SOURCES = tuple(
    TextureSource(f"scikit-image/{fn}", "scikit-image", role, licence, attribution, _skimage_loader(fn))
    for fn, role, licence, attribution in _SCIKIT_IMAGE_TABLE
)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def default_real_unlabeled_root() -> Path:
    """``../shared/data/real_unlabeled`` next to the repository (the development machine's layout)."""
    return Path(__file__).resolve().parents[4] / "shared" / "data" / "real_unlabeled"


def _read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path}: cannot read the texture image; restore the real_unlabeled folder")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def real_unlabeled_sources(group: str, root: str | Path | None = None) -> tuple[TextureSource, ...]:
    """The colour images of ``group`` ("rtabmap" | "manydepth") whose index.json licence allows shipping."""
    if group not in _REAL_UNLABELED_LICENCES:
        raise ValueError(
            f"unknown real_unlabeled texture group {group!r}; choose one of {tuple(_REAL_UNLABELED_LICENCES)}"
        )
    root = Path(root) if root is not None else default_real_unlabeled_root()
    index_path = root / "index.json"
    if not index_path.is_file():
        raise FileNotFoundError(
            f"{index_path} not found: texture group {group!r} needs the real_unlabeled folder; "
            "pass its path (real_unlabeled=...) or drop the group"
        )
    licence, attribution = _REAL_UNLABELED_LICENCES[group]
    sources = []
    for entry in json.loads(index_path.read_text(encoding="utf-8")):
        if Path(entry["file"]).parts[0] != group or entry.get("channels", 3) != 3:
            continue
        if not str(entry.get("license", "")).startswith(licence):
            continue  # a licence that does not allow shipping: never used
        path = root / entry["file"]
        sources.append(
            TextureSource(
                f"{group}/{Path(entry['file']).stem}",
                group,
                "picture",
                entry["license"],
                f"{attribution}; {entry['source']}",
                functools.partial(_read_rgb, path),
            )
        )
    if not sources:
        raise FileNotFoundError(f"{index_path} lists no {group} colour image with licence {licence!r}")
    return tuple(sources)


def _pyramid(image: np.ndarray) -> list[np.ndarray]:
    scale = MAX_TEXTURE_SIZE / max(image.shape[:2])
    if scale < 1.0:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    levels = [np.ascontiguousarray(image)]
    while min(levels[-1].shape[:2]) >= 2 * _MIN_MIP_SIZE:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


class TextureBank:
    """Loaded textures: ``sources[i]`` describes texture ``i``; ``sample`` reads linear reflectance.

    Surface textures are normalised to a mean linear reflectance of 0.5 so that a material's tint sets
    its colour; pictures keep their colours. ``fingerprint`` (sha256 over names and pixels) changes
    whenever the content does: render caches key on it.
    """

    def __init__(self, sources: Sequence[TextureSource]) -> None:
        self.sources = tuple(sources)
        self._levels: list[list[np.ndarray]] = []
        self._gain = np.ones(len(self.sources), np.float32)
        digest = hashlib.sha256()
        for i, source in enumerate(self.sources):
            image = source.load()
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise ValueError(
                    f"texture {source.name}: expected uint8 HxWx3 RGB, got {image.dtype} {image.shape}"
                )
            levels = _pyramid(image)
            self._levels.append(levels)
            if source.role == "surface":
                self._gain[i] = 0.5 / max(float(_SRGB_TO_LINEAR[levels[-1]].mean()), 1e-3)
            digest.update(source.name.encode())
            digest.update(levels[0].tobytes())
        self.fingerprint = digest.hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.sources)

    def indices(self, role: str, group: str | None = None) -> list[int]:
        """Texture indices of one role (and group)."""
        return [
            i for i, s in enumerate(self.sources) if s.role == role and (group is None or s.group == group)
        ]

    def aspect(self, index: int) -> float:
        """Width / height of texture ``index``."""
        h, w = self._levels[index][0].shape[:2]
        return w / h

    def sample(self, index: int, u: np.ndarray, v: np.ndarray, footprint: np.ndarray) -> np.ndarray:
        """(M,) coordinates in texture units (1 = the full width / height, mirrored repeat) -> (M, 3) float32.

        ``footprint``: a pixel's size in texture widths; the mip level is ``log2(footprint * width)``.
        """
        levels = self._levels[index]
        width0 = levels[0].shape[1]
        level = np.clip(np.log2(np.maximum(footprint * width0, 1e-6)), 0, len(levels) - 1).astype(np.int32)
        out = np.empty((len(u), 3), np.float32)
        for lv in np.unique(level):
            sel = np.flatnonzero(level == lv)
            tex = levels[int(lv)]
            h, w = tex.shape[:2]
            x = _mirror(np.floor(u[sel] * w).astype(np.int64), w)
            y = _mirror(np.floor(v[sel] * h).astype(np.int64), h)
            out[sel] = _SRGB_TO_LINEAR[tex[y, x]]
        return out * self._gain[index]


def _mirror(i: np.ndarray, n: int) -> np.ndarray:
    """Mirrored-repeat addressing: 0..n-1, n-1..0, 0..n-1, ... (no seams between tiles)."""
    i = np.mod(i, 2 * n)
    return np.where(i >= n, 2 * n - 1 - i, i)


@functools.lru_cache(maxsize=4)
def _cached_bank(groups: tuple[str, ...], root: str | None) -> TextureBank:
    sources: list[TextureSource] = []
    for group in groups:
        if group == "scikit-image":
            sources.extend(SCIKIT_IMAGE_SOURCES)
        elif group in _REAL_UNLABELED_LICENCES:
            sources.extend(real_unlabeled_sources(group, root))
        else:
            raise ValueError(f"unknown texture group {group!r}; choose from {GROUPS}")
    return TextureBank(sources)


def load_texture_bank(
    groups: Sequence[str] = ("scikit-image",), real_unlabeled: str | Path | None = None
) -> TextureBank:
    """The bank of ``groups`` (loaded once per process). Missing packages or folders raise a clear error."""
    if not groups:
        raise ValueError(f"texture groups must be a non-empty subset of {GROUPS}")
    return _cached_bank(tuple(groups), None if real_unlabeled is None else str(real_unlabeled))


@functools.lru_cache(maxsize=1)
def default_texture_bank() -> TextureBank:
    """The scikit-image bank; without scikit-image an empty bank (procedural materials only) and a warning.

    Rendering stays deterministic per bank: the cache key of a render includes ``fingerprint``. Training
    code should call :func:`load_texture_bank`, which raises instead of falling back.
    """
    try:
        return load_texture_bank(("scikit-image",))
    except ImportError as exc:
        warnings.warn(f"{exc}; rendering with procedural materials only", stacklevel=2)
        return TextureBank(())
