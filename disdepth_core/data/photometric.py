"""Camera effects for training images: optics, motion, exposure, white balance, sensor noise, JPEG.

Applied to uint8 RGB images (rendered or real) in the order a camera produces them, in linear light
(decoded with gamma 2.2, the synthetic renderer's encoding): defocus (Gaussian point spread),
motion blur (a line kernel at a random angle), vignetting (gain 1 - a r^2 with r = 1 at the
corners), exposure (a gain of 2^stops), white balance (per-channel gains of red and blue against
green), signal-dependent sensor noise (Poisson-Gaussian approximation, variance = shot * x + read^2,
Foi et al., IEEE TIP 2008), gamma encoding, then JPEG compression. Geometry is untouched: depth and K
stay exact. Blur sizes are given for a 320-pixel-wide image and scale with the width.

Every draw comes from the ``numpy.random.Generator`` passed in, in a fixed order whatever is
enabled, so a seeded generator reproduces an image exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Photometric"]

_GAMMA = 2.2
_DECODE = ((np.arange(256, dtype=np.float32) / 255.0) ** _GAMMA).astype(np.float32)
_REFERENCE_WIDTH = 320.0


@dataclass(frozen=True)
class Photometric:
    """Random camera effects; ranges are (low, high) drawn uniformly, ``*_prob`` the chance of applying.

    ``exposure_stops``/``white_balance``: maximum absolute stops / log gain. Set a probability or a
    range to 0 to disable an effect.
    """

    defocus_prob: float = 0.2
    defocus_sigma: tuple[float, float] = (0.4, 1.5)  # pixels at 320 wide
    motion_prob: float = 0.2
    motion_length: tuple[float, float] = (2.0, 7.0)  # pixels at 320 wide
    vignetting: tuple[float, float] = (0.0, 0.4)
    exposure_stops: float = 0.7
    white_balance: float = 0.12
    shot_noise: tuple[float, float] = (0.0, 0.002)
    read_noise: tuple[float, float] = (0.0, 0.004)
    jpeg_prob: float = 0.5
    jpeg_quality: tuple[int, int] = (40, 95)

    def __call__(self, sample: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A copy of ``sample`` whose ``image`` went through the camera effects; other keys untouched."""
        out = dict(sample)
        out["image"] = self.apply(sample["image"], rng)
        return out

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """uint8 H x W x 3 RGB -> uint8 H x W x 3 RGB."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(
                f"photometric augmentation needs a uint8 HxWx3 image, got {image.dtype} {image.shape}"
            )
        height, width = image.shape[:2]
        px = width / _REFERENCE_WIDTH
        draws = rng.random(4)  # defocus?, motion?, jpeg?, motion angle
        sigma = rng.uniform(*self.defocus_sigma) * px
        length = rng.uniform(*self.motion_length) * px
        vignette = rng.uniform(*self.vignetting)
        gain = 2.0 ** rng.uniform(-self.exposure_stops, self.exposure_stops)
        wb = np.exp(rng.uniform(-self.white_balance, self.white_balance, 2))
        shot, read = rng.uniform(*self.shot_noise), rng.uniform(*self.read_noise)
        quality = int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1))
        noise = rng.standard_normal(image.shape, dtype=np.float32)

        x = _DECODE[image]
        if draws[0] < self.defocus_prob and sigma > 0:
            x = cv2.GaussianBlur(x, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
        if draws[1] < self.motion_prob and length >= 1.0:
            x = cv2.filter2D(x, -1, _line_kernel(length, np.pi * draws[3]), borderType=cv2.BORDER_REFLECT)
        if vignette > 0:
            x = x * _vignette(height, width, vignette)[:, :, None]
        x = x * (gain * np.array([wb[0], 1.0, wb[1]], np.float32))
        if shot > 0 or read > 0:
            x = x + noise * np.sqrt(shot * np.clip(x, 0.0, None) + read**2)
        x = np.clip(x, 0.0, 1.0) ** (1.0 / _GAMMA)
        out = (x * 255.0 + 0.5).astype(np.uint8)
        if draws[2] < self.jpeg_prob:
            ok, buffer = cv2.imencode(".jpg", out[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise RuntimeError("JPEG encoding failed in photometric augmentation")
            out = np.ascontiguousarray(cv2.imdecode(buffer, cv2.IMREAD_COLOR)[:, :, ::-1])
        return out


def _line_kernel(length: float, angle: float) -> np.ndarray:
    """Normalised motion-blur kernel: a line of ``length`` pixels at ``angle`` radians."""
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    for s in np.linspace(-length / 2, length / 2, 4 * size):
        kernel[round(c + s * np.sin(angle)), round(c + s * np.cos(angle))] = 1.0
    return kernel / kernel.sum()


def _vignette(height: int, width: int, strength: float) -> np.ndarray:
    """Gain 1 - strength * r^2, r the distance from the centre normalised to 1 at the corners."""
    y = (np.arange(height, dtype=np.float32) - (height - 1) / 2) / (height / 2)
    x = (np.arange(width, dtype=np.float32) - (width - 1) / 2) / (width / 2)
    r2 = (x[None, :] ** 2 + y[:, None] ** 2) / 2.0
    return (1.0 - strength * r2).astype(np.float32)
