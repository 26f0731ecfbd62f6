"""Pre- and post-processing shared by every backend (ARCHITECTURE.md, "Model input" and runtime).

Pre: uint8 RGB (or mono, replicated) -> resize or letterbox to the model size -> [0, 1] -> per-channel
mean/std -> 1 x 3 x H x W float32 in the model's colour order. Post: crop the letterbox padding, resize
back to the input resolution (bilinear), and mark non-finite or out-of-range depth as NaN (REP 118).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

ResizeMode = Literal["resize", "letterbox"]


@dataclass(frozen=True)
class ResizePlan:
    """Where the input image lands inside the model input: rows ``top:top+height``, cols ``left:left+width``.

    ``resize`` fills the whole model input (aspect ratio may change); ``letterbox`` keeps the aspect ratio
    and pads symmetrically with the mean colour (zero after normalisation).
    """

    source_hw: tuple[int, int]
    model_hw: tuple[int, int]
    top: int
    left: int
    height: int
    width: int

    @classmethod
    def create(cls, source_hw: tuple[int, int], model_hw: tuple[int, int], mode: ResizeMode) -> ResizePlan:
        """Plan the mapping of a ``source_hw`` image into a ``model_hw`` input."""
        src_h, src_w = source_hw
        dst_h, dst_w = model_hw
        if mode == "resize":
            return cls(source_hw, model_hw, 0, 0, dst_h, dst_w)
        if mode != "letterbox":
            raise ValueError(f"resize mode must be 'resize' or 'letterbox', got {mode!r}")
        scale = min(dst_h / src_h, dst_w / src_w)
        height = min(dst_h, max(1, round(src_h * scale)))
        width = min(dst_w, max(1, round(src_w * scale)))
        return cls(source_hw, model_hw, (dst_h - height) // 2, (dst_w - width) // 2, height, width)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Validate a uint8 H x W x 3 RGB image; a mono H x W (or H x W x 1) image is replicated to 3 channels."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        dtype = getattr(image, "dtype", type(image).__name__)
        raise TypeError(f"expected a numpy uint8 image (H x W x 3 RGB or H x W mono), got {dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 RGB or H x W mono image, got shape {image.shape}")
    return image


def preprocess(
    image: np.ndarray,
    plan: ResizePlan,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    color_order: str = "rgb",
) -> np.ndarray:
    """Turn a uint8 RGB image into a normalised 1 x 3 x H x W float32 model input following ``plan``."""
    rgb = as_rgb(image)
    if rgb.shape[:2] != plan.source_hw:
        raise ValueError(f"image is {rgb.shape[:2]}, the plan was made for {plan.source_hw}")
    shrinking = plan.height < rgb.shape[0] or plan.width < rgb.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    # A bgr8 frame arrives as a channel-reversed view of its BGR buffer (`image_encodings`): resize that
    # contiguous buffer (cv2 would first copy the view, ~2 ms at 640x480) and swap channels below.
    bgr_buffer = rgb.strides[2] < 0
    source = rgb[..., ::-1] if bgr_buffer else rgb
    size = (plan.width, plan.height)
    if shrinking:
        # INTER_AREA at a non-integer ratio (640x480 -> 160x128) takes OpenCV's generic path, faster on
        # float32 than on uint8, conversion included (0.65 vs 0.88 ms). Rounded to whole grey levels as
        # the uint8 resize (and training) rounds them: the same input, bit for bit; unrounded averages
        # moved the shipped model's real_dev AbsRel by up to 0.7 %. (Averaging column groups first with a
        # small matrix product measured 0.2 ms faster alone, but its BLAS threads contend with the
        # backend's in the node: pre-process 21 ms, inference 2x slower on 2 cores. Not done.)
        resized = cv2.resize(source.astype(np.float32), size, interpolation=interpolation)
        np.rint(resized, out=resized)
    else:
        resized = cv2.resize(source, size, interpolation=interpolation)
    # (x / 255 - mean) / std = x * scale + offset per channel, written straight into the NCHW batch.
    scale = 1.0 / (255.0 * np.asarray(std, dtype=np.float32))
    offset = -np.asarray(mean, dtype=np.float32) / np.asarray(std, dtype=np.float32)
    channels = resized.transpose(2, 0, 1)  # a view, 3 x h x w, in the order of `source`
    if color_order == "bgr":
        scale, offset = scale[::-1], offset[::-1]
    if (color_order == "bgr") != bgr_buffer:
        channels = channels[::-1]
    model_h, model_w = plan.model_hw
    padded = (plan.height, plan.width) != (model_h, model_w)
    batch = (np.zeros if padded else np.empty)((1, 3, model_h, model_w), dtype=np.float32)
    content = batch[0, :, plan.top : plan.top + plan.height, plan.left : plan.left + plan.width]
    np.multiply(channels, scale[:, None, None], out=content)
    content += offset[:, None, None]
    return batch


def restore(map_hw: np.ndarray, plan: ResizePlan) -> np.ndarray:
    """Crop the letterbox content out of a model-resolution map and resize it to the source resolution."""
    crop = np.ascontiguousarray(
        map_hw[plan.top : plan.top + plan.height, plan.left : plan.left + plan.width], dtype=np.float32
    )
    src_h, src_w = plan.source_hw
    if crop.shape == (src_h, src_w):
        return crop
    return cv2.resize(crop, (src_w, src_h), interpolation=cv2.INTER_LINEAR)


def invalidate(depth: np.ndarray, min_depth: float, max_depth: float) -> np.ndarray:
    """Set non-finite depth and depth outside ``[min_depth, max_depth]`` to NaN, in place; returns it."""
    if math.isnan(min_depth) or math.isnan(max_depth):
        depth.fill(np.nan)  # no depth is within a NaN limit
        return depth
    # NaN stays NaN, so only depth beyond a limit needs marking; the upper one, at most the dtype's
    # largest finite value, also rejects +inf. One mask and an indexed store: 1.5x faster than the
    # validity mask and copyto(where=~valid) at 640x480.
    with np.errstate(invalid="ignore"):
        beyond = depth < min_depth
        beyond |= depth > min(max_depth, float(np.finfo(depth.dtype).max))
    depth[beyond] = np.nan
    return depth
