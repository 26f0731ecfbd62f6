"""Materials of the synthetic scenes: palettes of real surface colours (paint, wood, fabric, metal, cars,
facades, foliage), procedural patterns and tinted photographs from the texture bank."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from disdepth_core.data.synthetic.primitives import (
    Material,
)
from disdepth_core.data.synthetic.textures import TextureBank

_NOISE_SIZE = 64  # texels of the per-scene noise table (power of two)


def noise_table(rng: np.random.Generator) -> np.ndarray:
    coarse = rng.random((8, 8), dtype=np.float32)
    smooth = cv2.resize(coarse, (_NOISE_SIZE, _NOISE_SIZE), interpolation=cv2.INTER_CUBIC)
    fine = rng.random((_NOISE_SIZE, _NOISE_SIZE), dtype=np.float32)
    return np.clip(0.65 * smooth + 0.35 * fine, 0.0, 1.0).astype(np.float32)


def jitter_colour(rng: np.random.Generator, color: Sequence[float], amount: float = 0.1) -> np.ndarray:
    c = np.asarray(color, np.float32) * rng.uniform(1 - amount, 1 + amount, 3)
    return np.clip(c, 0.01, 0.95).astype(np.float32)


def plain_material(color: np.ndarray, **kw) -> Material:
    return Material(color, color, "plain", 1.0, **kw)


def pattern_material(rng: np.random.Generator, pattern: str, a, b, scale: float, **kw) -> Material:
    return Material(jitter_colour(rng, a), jitter_colour(rng, b), pattern, scale, **kw)


def _photo(bank: TextureBank | None, name: str) -> int:
    """Index of texture ``name`` (e.g. "scikit-image/brick") in the bank, -1 when absent."""
    if bank is None:
        return -1
    for i, source in enumerate(bank.sources):
        if source.name == name:
            return i
    return -1


def photo_surface(
    rng: np.random.Generator,
    bank: TextureBank | None,
    name: str,
    tint,
    scale: float,
    fallback: Material,
    **kw,
) -> Material:
    """A tiling photograph tinted ``tint`` (``scale`` metres per texture width), else ``fallback``."""
    index = _photo(bank, name)
    if index < 0:
        return fallback
    return Material(jitter_colour(rng, tint), jitter_colour(rng, tint), "texture", scale, texture=index, **kw)


def picture_material(
    rng: np.random.Generator, bank: TextureBank | None, width: float, height: float, **kw
) -> Material | None:
    """A random photograph spanning a ``width`` x ``height`` face (local u right, v up), or None."""
    pictures = [] if bank is None else bank.indices("picture")
    if not pictures:
        return None
    index = int(rng.choice(pictures))
    white = np.ones(3, np.float32)
    return Material(
        white,
        white,
        "texture",
        1.0,
        texture=index,
        offset=(0.5, 0.5),
        stretch=(1.0 / width, -1.0 / height),
        **kw,
    )


def random_crop_material(rng: np.random.Generator, bank: TextureBank | None, fallback: Material) -> Material:
    """A photograph as a box's texture (FlyingThings3D-style), or ``fallback``."""
    pictures = [] if bank is None else bank.indices("picture")
    if not pictures:
        return fallback
    index = int(rng.choice(pictures))
    return Material(
        jitter_colour(rng, (1.0, 1.0, 1.0), 0.15),
        np.ones(3, np.float32),
        "texture",
        float(rng.uniform(0.5, 2.0)),
        texture=index,
        offset=(float(rng.random()), float(rng.random())),
    )


PAINT = [
    (0.75, 0.73, 0.68),
    (0.8, 0.78, 0.72),
    (0.62, 0.66, 0.7),
    (0.7, 0.62, 0.5),
    (0.55, 0.62, 0.52),
    (0.78, 0.7, 0.62),
    (0.45, 0.5, 0.58),
]

_WOOD = [(0.42, 0.25, 0.12), (0.55, 0.38, 0.22), (0.3, 0.18, 0.1), (0.62, 0.48, 0.32), (0.2, 0.12, 0.07)]

FABRIC = [(0.25, 0.25, 0.28), (0.4, 0.15, 0.12), (0.15, 0.22, 0.35), (0.45, 0.42, 0.35), (0.1, 0.1, 0.1)]

METAL = [(0.55, 0.56, 0.58), (0.2, 0.2, 0.22), (0.7, 0.7, 0.68)]

CAR_PAINT = [
    (0.8, 0.8, 0.8),
    (0.03, 0.03, 0.035),
    (0.45, 0.46, 0.48),
    (0.5, 0.05, 0.04),
    (0.05, 0.12, 0.35),
    (0.25, 0.25, 0.27),
    (0.6, 0.55, 0.45),
]

FACADE = [
    (0.6, 0.55, 0.48),
    (0.7, 0.68, 0.62),
    (0.45, 0.28, 0.2),
    (0.5, 0.5, 0.52),
    (0.65, 0.6, 0.5),
    (0.35, 0.33, 0.32),
]

_FOLIAGE = (0.16, 0.3, 0.08)


def pick_colour(rng: np.random.Generator, palette) -> tuple[float, float, float]:
    return palette[int(rng.integers(len(palette)))]


def wood_material(rng: np.random.Generator, gloss: float = 0.15) -> Material:
    base = pick_colour(rng, _WOOD)
    return pattern_material(
        rng,
        "planks",
        base,
        np.asarray(base) * 0.6,
        float(rng.uniform(0.08, 0.2)),
        specular=gloss,
        shininess=40.0,
    )


def fabric_material(rng: np.random.Generator) -> Material:
    base = pick_colour(rng, FABRIC)
    return pattern_material(rng, "noise", base, np.asarray(base) * 0.7, float(rng.uniform(0.1, 0.4)))


def metal_material(rng: np.random.Generator) -> Material:
    return plain_material(jitter_colour(rng, pick_colour(rng, METAL)), specular=0.6, shininess=60.0)


def foliage_material(rng: np.random.Generator, bank: TextureBank | None) -> Material:
    fallback = pattern_material(rng, "noise", _FOLIAGE, (0.05, 0.1, 0.03), 0.2)
    return photo_surface(rng, bank, "scikit-image/grass", _FOLIAGE, float(rng.uniform(0.5, 1.5)), fallback)
