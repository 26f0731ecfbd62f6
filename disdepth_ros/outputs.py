"""The depth node's outputs: topic names, what to publish, and the messages of one frame.

Every message carries the input image's header (stamp and frame_id copied, never `now()`; REP 118 for
depth, clouds in the camera's optical frame). `depth/camera_info` describes the published depth image:
when the camera_info is for another resolution, K and P are scaled to the image and the cloud uses those
intrinsics, so the published camera_info, depth and cloud always agree.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header

from disdepth_core.geometry import DEFAULT_CLOUD_STRIDE, CameraIntrinsics
from disdepth_core.visualize.colorize import colorize_depth, display_range
from disdepth_ros.conversions import (
    array_to_image_msg,
    camera_info_to_intrinsics,
    depth_to_cloud_msg,
    depth_to_image_msg,
    depth_to_mm_image_msg,
    scaled_camera_info,
)

__all__ = [
    "ON_DEMAND_OUTPUTS",
    "OUTPUT_TOPICS",
    "OutputSettings",
    "build_cloud",
    "build_image_outputs",
    "camera_info_for_image",
    "output_qos",
]

# Output name -> (topic relative to the node's namespace, message type).
OUTPUT_TOPICS: dict[str, tuple[str, type]] = {
    "depth": ("depth/image", Image),
    "depth_mm": ("depth/image_mm", Image),
    "camera_info": ("depth/camera_info", CameraInfo),
    "colorized": ("depth/colorized", Image),
    "uncertainty": ("depth/uncertainty", Image),
    "points": ("points", PointCloud2),
}
ON_DEMAND_OUTPUTS = ("colorized", "points")  # built only when someone subscribes (clouds cost CPU)


def output_qos(reliability: str) -> QoSProfile:
    """The publishers' QoS for parameter `qos_reliability` ("reliable" or "best_effort"): keep last 1,
    volatile (per-topic `qos_overrides` still apply)."""
    policy = ReliabilityPolicy.RELIABLE if reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=policy)


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
    cloud_stride: int = DEFAULT_CLOUD_STRIDE
    max_range: float = 0.0  # 0 = no limit
    flying_pixel_threshold: float = (
        0.0  # relative depth jump to a neighbour that removes a cloud point; 0 = off
    )
    colormap: str = "turbo"
    colorize_min: float = 0.0  # colour-scale range in metres; 0 and 0 = the frame's 2nd-98th percentile
    colorize_max: float = 0.0


def camera_info_for_image(
    info: CameraInfo, header: Header, width: int, height: int
) -> tuple[CameraInfo, CameraIntrinsics, bool]:
    """camera_info for a `width` x `height` image with `header`: (message, its intrinsics, was_resized).

    Intrinsics come from P when non-zero, else K, of the (scaled) message itself. Raises ValueError when
    the intrinsics are unusable for this image (after scaling), so a camera_info that is valid at its own
    size but degenerate at the image's (1e308 focal, NaN in the homogeneous row) is refused here.
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


def build_image_outputs(
    depth: np.ndarray,
    uncertainty: np.ndarray | None,
    header: Header,
    camera: tuple[CameraInfo, CameraIntrinsics] | None,
    settings: OutputSettings,
    subscribed: Collection[str] = ON_DEMAND_OUTPUTS,
) -> dict[str, object]:
    """The image outputs of one frame by output name (depth, depth_mm, uncertainty, colorized) and
    depth/camera_info; the cloud is `build_cloud`.

    `depth` is metric depth for the camera image already limited to the published range (NaN invalid);
    `camera` is the camera_info for this image and its intrinsics (`camera_info_for_image`), or None,
    in which case no depth/camera_info is produced. `subscribed` names the on-demand outputs that have
    subscribers.
    """
    messages: dict[str, object] = {"depth": depth_to_image_msg(depth, header)}
    if settings.publish_depth_mm:
        messages["depth_mm"] = depth_to_mm_image_msg(depth, header)
    if settings.publish_uncertainty and uncertainty is not None:
        masked = np.where(np.isnan(depth), np.float32(np.nan), uncertainty).astype(np.float32, copy=False)
        messages["uncertainty"] = depth_to_image_msg(masked, header)
    if settings.publish_colorized and "colorized" in subscribed:
        near, far = _colour_range(depth, settings)
        bgr = colorize_depth(depth, near, far, settings.colormap)
        messages["colorized"] = array_to_image_msg(bgr, "bgr8", header)
    if camera is not None:
        messages["camera_info"] = camera[0]
    return messages


def build_cloud(
    rgb: np.ndarray,
    depth: np.ndarray,
    header: Header,
    camera: tuple[CameraInfo, CameraIntrinsics] | None,
    settings: OutputSettings,
    subscribed: Collection[str] = ON_DEMAND_OUTPUTS,
) -> PointCloud2 | None:
    """The `points` output of one frame (organized cloud of `depth`, coloured from `rgb` when
    `points_rgb`), or None when it is off, not subscribed, or there is no camera_info (`camera` None)."""
    if camera is None or not settings.publish_points or "points" not in subscribed:
        return None
    return depth_to_cloud_msg(
        depth,
        camera[1],
        header,
        settings.cloud_stride,
        settings.max_range or None,
        rgb if settings.points_rgb else None,
        settings.flying_pixel_threshold or None,
    )


def _colour_range(depth: np.ndarray, settings: OutputSettings) -> tuple[float, float]:
    """The colorized image's range: the configured one, else the frame's percentiles, else the limits."""
    if settings.colorize_max > settings.colorize_min:
        return settings.colorize_min, settings.colorize_max
    return display_range(depth) or (settings.min_depth, settings.max_depth)
