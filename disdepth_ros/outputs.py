"""Depth result -> the node's output messages (plain functions; the node only publishes them).

Every message carries the input image's header (stamp and frame_id copied, never `now()`, DESIGN
lesson 9). `depth/camera_info` describes the published depth image: when the cached camera_info is for
another resolution, K and P are scaled to the image (lesson 3) and the cloud uses those intrinsics.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header

from disdepth_core.geometry import CameraIntrinsics
from disdepth_core.runtime.image_ops import invalidate
from disdepth_ros.colorize import colorize_depth
from disdepth_ros.conversions import (
    array_to_image_msg,
    camera_info_to_intrinsics,
    depth_to_cloud_msg,
    depth_to_image_msg,
    depth_to_mm_image_msg,
    scaled_camera_info,
)

__all__ = ["FrameOutputs", "OutputSettings", "apply_depth_limits", "build_outputs", "camera_info_for_image"]


@dataclass(frozen=True)
class OutputSettings:
    """What to publish and how; `min_depth`/`max_depth` are the effective limits in metres."""

    min_depth: float
    max_depth: float
    publish_depth_mm: bool = False
    publish_colorized: bool = True
    publish_uncertainty: bool = False
    publish_points: bool = True
    points_rgb: bool = False
    cloud_stride: int = 1
    max_range: float = 0.0  # 0 = no limit
    colormap: str = "turbo"


@dataclass
class FrameOutputs:
    """Messages for one frame keyed by output name (depth, depth_mm, camera_info, colorized, uncertainty,
    points); `camera_info_resized` tells the node to warn that camera_info and image sizes differ."""

    messages: dict[str, object] = field(default_factory=dict)
    camera_info_resized: bool = False


def apply_depth_limits(depth: np.ndarray, min_depth: float, max_depth: float) -> np.ndarray:
    """A float32 copy of `depth` with values outside [min_depth, max_depth] set to NaN (REP 118): the
    runtime's own `invalidate` on a copy, so the node's limits and the estimator's agree."""
    return invalidate(np.array(depth, dtype=np.float32, copy=True), min_depth, max_depth)


def camera_info_for_image(
    info: CameraInfo, header: Header, width: int, height: int
) -> tuple[CameraInfo, CameraIntrinsics, bool]:
    """camera_info for a `width` x `height` image with `header`: (message, its intrinsics, was_resized).

    Intrinsics come from P when non-zero, else K, of the (scaled) message itself, so the cloud and the
    published camera_info always agree.
    """
    resized = (info.width, info.height) != (width, height)
    if resized:
        out = scaled_camera_info(info, width, height, header)
    else:
        out = CameraInfo(
            header=header,
            height=info.height,
            width=info.width,
            distortion_model=info.distortion_model,
            d=info.d,
            k=info.k,
            r=info.r,
            p=info.p,
            binning_x=info.binning_x,
            binning_y=info.binning_y,
            roi=info.roi,
        )
    return out, camera_info_to_intrinsics(out), resized


def build_outputs(
    rgb: np.ndarray,
    depth: np.ndarray,
    uncertainty: np.ndarray | None,
    header: Header,
    camera_info: CameraInfo | None,
    settings: OutputSettings,
    subscribed: Collection[str] = ("colorized", "points"),
) -> FrameOutputs:
    """Build the output messages of one frame.

    `depth` is the estimator's metric depth for `rgb` (same size); `subscribed` names the optional
    outputs that have subscribers (colorized and points are only computed then, DESIGN lesson 7).
    Without `camera_info` no depth/camera_info and no cloud are produced.
    """
    height, width = depth.shape
    depth = apply_depth_limits(depth, settings.min_depth, settings.max_depth)
    outputs = FrameOutputs()
    messages = outputs.messages
    messages["depth"] = depth_to_image_msg(depth, header)
    if settings.publish_depth_mm:
        messages["depth_mm"] = depth_to_mm_image_msg(depth, header)
    if settings.publish_uncertainty and uncertainty is not None:
        masked = np.where(np.isnan(depth), np.float32(np.nan), uncertainty).astype(np.float32, copy=False)
        messages["uncertainty"] = depth_to_image_msg(masked, header)
    if settings.publish_colorized and "colorized" in subscribed:
        bgr = colorize_depth(depth, settings.min_depth, settings.max_depth, settings.colormap)
        messages["colorized"] = array_to_image_msg(bgr, "bgr8", header)
    if camera_info is not None:
        info, intrinsics, outputs.camera_info_resized = camera_info_for_image(
            camera_info, header, width, height
        )
        messages["camera_info"] = info
        if settings.publish_points and "points" in subscribed:
            messages["points"] = depth_to_cloud_msg(
                depth,
                intrinsics,
                header,
                settings.cloud_stride,
                settings.max_range or None,
                rgb if settings.points_rgb else None,
            )
    return outputs
