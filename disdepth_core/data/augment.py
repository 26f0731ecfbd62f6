"""Training augmentations on sample dicts (``image`` uint8 HxWx3 RGB, optional ``depth``, ``K``).

Geometric ops keep ``K`` consistent: a flip maps cx -> W - 1 - cx, a crop shifts the principal point,
a rotation turns the image about the principal point (an exact camera roll when fx == fy; depth along
the optical axis is unchanged by a roll). Photometric ops follow BTS / AdaBins: gamma, brightness,
per-channel colour gain, plus contrast and saturation. Every function takes an explicit
``numpy.random.Generator`` so that runs are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Sample = dict[str, np.ndarray]


def hflip(sample: Sample) -> Sample:
    """Mirror left-right; cx -> W - 1 - cx (pixel centres at integer coordinates)."""
    out = dict(sample)
    out["image"] = np.ascontiguousarray(sample["image"][:, ::-1])
    if "depth" in sample:
        out["depth"] = np.ascontiguousarray(sample["depth"][:, ::-1])
    if "K" in sample:
        k = sample["K"].copy()
        k[0, 2] = sample["image"].shape[1] - 1 - k[0, 2]
        out["K"] = k
    return out


def crop(sample: Sample, top: int, left: int, height: int, width: int) -> Sample:
    """Crop a window; the principal point moves by (-left, -top)."""
    h, w = sample["image"].shape[:2]
    if top < 0 or left < 0 or top + height > h or left + width > w:
        raise ValueError(f"crop {height}x{width} at ({top}, {left}) does not fit in a {h}x{w} image")
    out = dict(sample)
    out["image"] = np.ascontiguousarray(sample["image"][top : top + height, left : left + width])
    if "depth" in sample:
        out["depth"] = np.ascontiguousarray(sample["depth"][top : top + height, left : left + width])
    if "K" in sample:
        k = sample["K"].copy()
        k[0, 2] -= left
        k[1, 2] -= top
        out["K"] = k
    return out


def random_crop(sample: Sample, height: int, width: int, rng: np.random.Generator) -> Sample:
    """Crop a uniformly placed ``height`` x ``width`` window."""
    h, w = sample["image"].shape[:2]
    if height > h or width > w:
        raise ValueError(f"random crop {height}x{width} is larger than the {h}x{w} image")
    return crop(
        sample, int(rng.integers(0, h - height + 1)), int(rng.integers(0, w - width + 1)), height, width
    )


def rotate(sample: Sample, degrees: float) -> Sample:
    """Rotate about the principal point (image centre without ``K``); uncovered pixels are 0 / invalid.

    Image: bilinear; depth: nearest neighbour (never blends across depth edges).
    """
    h, w = sample["image"].shape[:2]
    if "K" in sample:
        centre = (float(sample["K"][0, 2]), float(sample["K"][1, 2]))
    else:
        centre = ((w - 1) / 2, (h - 1) / 2)
    m = cv2.getRotationMatrix2D(centre, degrees, 1.0)
    out = dict(sample)
    out["image"] = cv2.warpAffine(sample["image"], m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    if "depth" in sample:
        depth = np.nan_to_num(sample["depth"], nan=0.0)
        out["depth"] = cv2.warpAffine(depth, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0.0)
    return out


def color_jitter(
    image: np.ndarray,
    rng: np.random.Generator,
    brightness: float = 0.2,
    contrast: float = 0.2,
    saturation: float = 0.2,
    gamma: float = 0.1,
    channel_gain: float = 0.1,
) -> np.ndarray:
    """Random photometric change of a uint8 RGB image; each factor is drawn from 1 +- its amount."""
    x = image.astype(np.float32) / 255.0
    x = x ** rng.uniform(1 - gamma, 1 + gamma)
    x = x * rng.uniform(1 - brightness, 1 + brightness)
    x = x * rng.uniform(1 - channel_gain, 1 + channel_gain, 3).astype(np.float32)
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    x = grey.mean() + (x - grey.mean()) * rng.uniform(1 - contrast, 1 + contrast)
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    x = grey[..., None] + (x - grey[..., None]) * rng.uniform(1 - saturation, 1 + saturation)
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Augment:
    """Standard train-time augmentation (BTS / AdaBins recipe): crop, flip, small rotation, colour.

    ``crop_size`` (height, width) or None; ``rotate_degrees`` is the maximum absolute angle
    (BTS uses 2.5); ``color_prob`` the chance of applying ``color_jitter``.
    """

    crop_size: tuple[int, int] | None = None
    hflip_prob: float = 0.5
    rotate_degrees: float = 2.5
    color_prob: float = 0.5
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    gamma: float = 0.1

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if self.rotate_degrees > 0:
            sample = rotate(sample, float(rng.uniform(-self.rotate_degrees, self.rotate_degrees)))
        if self.crop_size is not None:
            sample = random_crop(sample, *self.crop_size, rng)
        if rng.random() < self.hflip_prob:
            sample = hflip(sample)
        if rng.random() < self.color_prob:
            sample = dict(sample)
            sample["image"] = color_jitter(
                sample["image"], rng, self.brightness, self.contrast, self.saturation, self.gamma
            )
        return sample
