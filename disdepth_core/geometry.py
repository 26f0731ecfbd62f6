"""Pinhole camera intrinsics and depth back-projection (no ROS imports).

Conventions:
- Pixel coordinates follow OpenCV / `sensor_msgs/CameraInfo`: the centre of the top-left pixel is
  (0, 0), u to the right, v down. Points are in the camera optical frame (REP 103 `_optical`: x right,
  y down, z forward), in metres; depth is z along the optical axis (REP 118).
- Resizing an image by (sx, sy) maps a pixel centre u to (u + 0.5) * sx - 0.5, so
  cx' = (cx + 0.5) * sx - 0.5 and fx' = fx * sx (likewise for y). This keeps the same ray through the
  same scene point when the image is resized with `cv2.resize` (which uses the same pixel-centre model).
- A depth value is valid when finite and > 0 (`valid_depth`): runtime outputs and ROS messages mark
  invalid pixels NaN, datasets mark invalid ground truth 0 or NaN.
- Camera-aware depth (Metric3D, Yin et al. ICCV 2023, canonical camera): depth predicted for a canonical
  focal f_c times fx_in / f_c is metric depth for an image with focal fx_in (pixels at the model input);
  `focal_depth_scale` is that factor between any two focal conventions.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_CLOUD_STRIDE",
    "CameraIntrinsics",
    "depth_discontinuities",
    "depth_to_points",
    "focal_depth_scale",
    "focal_of_matrix",
    "range_factors",
    "ray_grid",
    "scale_projection",
    "valid_depth",
]

DEFAULT_CLOUD_STRIDE = 2
"""Default stride of published clouds (every 2nd row and column: a quarter of the points, enough for
costmaps and rviz at camera rate); the node's `cloud_stride` parameter and eval-bag use it."""


def valid_depth(depth: np.ndarray) -> np.ndarray:
    """Boolean mask of the values that are depths: finite and > 0 (0, NaN, +-inf, negatives: no value)."""
    depth = np.asarray(depth)
    with np.errstate(invalid="ignore"):
        return np.isfinite(depth) & (depth > 0)


def focal_of_matrix(k: np.ndarray | None) -> float:
    """fx (pixels) of a 3 x 3 intrinsics matrix; 0 when unknown (None, zero or not finite)."""
    if k is None:
        return 0.0
    fx = float(np.asarray(k, dtype=np.float64).reshape(3, 3)[0, 0])
    return fx if math.isfinite(fx) and fx > 0 else 0.0


def focal_depth_scale(fx_in: float, source_focal: float, target_focal: float) -> float:
    """Factor turning depth predicted for ``source_focal`` into depth for ``target_focal`` (module doc).

    A focal of 0 means plain metric depth (the camera's own ``fx_in``), so ``focal_depth_scale(fx, f_c,
    0) = fx / f_c`` is canonical -> metric and ``focal_depth_scale(fx, 0, f_c) = f_c / fx`` metric ->
    canonical. ``fx_in`` (pixels at the model input) is needed only when exactly one side is metric.
    """
    if source_focal == target_focal:
        return 1.0
    if source_focal > 0 and target_focal > 0:
        return target_focal / source_focal
    if not fx_in > 0:
        raise ValueError(
            "converting between metric and canonical depth needs the image's focal length; "
            "give the dataset intrinsics K"
        )
    to_metric = fx_in / source_focal if source_focal > 0 else 1.0
    to_target = target_focal / fx_in if target_focal > 0 else 1.0
    return to_metric * to_target


def scale_projection(matrix: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """A 3x3 K or 3x4 P for the image resized by (sx, sy), in the pixel-centre model of the module doc.

    Rows scale like pixel coordinates: u' = sx u + 0.5 (sx - 1) w, with w the homogeneous (third) row,
    so fx' = fx sx, cx' = (cx + 0.5) sx - 0.5, and P's Tx term (fx * baseline) scales with fx.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    scaled = matrix.copy()
    with np.errstate(over="ignore", invalid="ignore"):  # degenerate inputs become inf/NaN, refused later
        scaled[0] = matrix[0] * sx + 0.5 * (sx - 1.0) * matrix[2]
        scaled[1] = matrix[1] * sy + 0.5 * (sy - 1.0) * matrix[2]
    return scaled


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of a `width` x `height` image (focal lengths and principal point in pixels)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        values = (self.fx, self.fy, self.cx, self.cy)
        if not all(math.isfinite(float(v)) for v in values):
            raise ValueError(
                f"intrinsics must be finite, got fx={self.fx} fy={self.fy} cx={self.cx} cy={self.cy}"
            )
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"focal lengths must be positive, got fx={self.fx} fy={self.fy}")
        if (
            int(self.width) != self.width
            or int(self.height) != self.height
            or self.width <= 0
            or self.height <= 0
        ):
            raise ValueError(f"image size must be positive integers, got {self.width}x{self.height}")

    @property
    def K(self) -> np.ndarray:  # noqa: N802 (the conventional name of the camera matrix)
        """The 3x3 camera matrix (float64)."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @classmethod
    def from_K(cls, K: np.ndarray | list[float], width: int, height: int) -> CameraIntrinsics:  # noqa: N802, N803
        """Build from a 3x3 camera matrix (or its 9 row-major values, as in `CameraInfo.k`).

        A 3x4 projection matrix (`CameraInfo.p`, 12 values) is accepted too: its left 3x3 block is used.
        """
        matrix = np.asarray(K, dtype=np.float64)
        if matrix.size == 12:
            matrix = matrix.reshape(3, 4)[:, :3]
        if matrix.size != 9:
            raise ValueError(f"expected a 3x3 camera matrix (or 3x4 projection), got shape {matrix.shape}")
        matrix = matrix.reshape(3, 3)
        return cls(
            fx=float(matrix[0, 0]),
            fy=float(matrix[1, 1]),
            cx=float(matrix[0, 2]),
            cy=float(matrix[1, 2]),
            width=int(width),
            height=int(height),
        )

    def scaled(self, width: int, height: int) -> CameraIntrinsics:
        """Intrinsics after resizing the image to `width` x `height` (pixel-centre model, module doc)."""
        return CameraIntrinsics.from_K(
            scale_projection(self.K, width / self.width, height / self.height), width, height
        )


def depth_to_points(
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    stride: int = 1,
    max_range: float | None = None,
    out: np.ndarray | None = None,
    discontinuity: float | None = None,
) -> np.ndarray:
    """Back-project a depth image (metres along z) to an organized H' x W' x 3 float32 point grid.

    Pixel (v, u) with depth z maps to ((u - cx) z / fx, (v - cy) z / fy, z) in the optical frame; only
    every `stride`-th row and column is kept (H' = ceil(H / stride)). Points with a non-finite or
    non-positive depth, or a Euclidean range beyond `max_range`, are NaN in all three coordinates; so are
    flying pixels when `discontinuity` is given (`depth_discontinuities` on the kept grid).
    `depth` must have the intrinsics' size: scale the intrinsics first (`intrinsics.scaled`).
    `out` (optional, numpy convention) is a float32 H' x W' x 3 array, possibly a strided view such as
    the xyz columns of a point-cloud buffer, that receives the result.
    """
    if depth.ndim != 2:
        raise ValueError(f"depth must be H x W, got shape {depth.shape}")
    if depth.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(
            f"depth is {depth.shape[1]}x{depth.shape[0]} but intrinsics are for "
            f"{intrinsics.width}x{intrinsics.height}; use intrinsics.scaled(width, height)"
        )
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if max_range is not None and not max_range > 0:
        raise ValueError(f"max_range must be positive (or None), got {max_range}")

    # A contiguous copy of the kept grid (the strided view would be read three times), in which the
    # rejected points become NaN in place: 3x faster than np.where at stride 2.
    z = np.array(depth[::stride, ::stride], dtype=np.float32)
    shape = (*z.shape, 3)
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape or out.dtype != np.float32:
        raise ValueError(f"out must be float32 {shape}, got {out.dtype} {out.shape}")
    x_ray, y_ray = ray_grid(intrinsics, stride)
    rejected = ~valid_depth(z)
    if max_range is not None:
        with np.errstate(invalid="ignore"):
            rejected |= z * range_factors(intrinsics, stride) > np.float32(max_range)
    if discontinuity is not None:
        rejected |= depth_discontinuities(z, discontinuity)
    z[rejected] = np.nan
    z_valid = z
    # NaN depth propagates through the products, so x and y need no separate masking.
    out[..., 2] = z_valid
    np.multiply(x_ray, z_valid, out=out[..., 0])
    np.multiply(y_ray, z_valid, out=out[..., 1])
    return out


def depth_discontinuities(depth: np.ndarray, threshold: float) -> np.ndarray:
    """Pixels on a depth discontinuity: the depth differs from an 8-neighbour's by more than
    ``threshold`` times the nearer of the two (both sides of the jump are marked).

    Monocular depth is smooth across object boundaries, so the pixels between a foreground edge and the
    background get intermediate depths ("flying pixels") that a costmap turns into phantom obstacles;
    a relative threshold (e.g. 0.1 = 10 % per pixel) removes them while keeping surfaces that recede
    gradually. Invalid (NaN) neighbours never mark a pixel.
    """
    if not threshold > 0:
        raise ValueError(f"discontinuity threshold must be positive, got {threshold}")
    z = np.ascontiguousarray(depth, dtype=np.float32)
    height, width = z.shape
    # Each neighbour direction pairs flat index i with i + offset over the flattened image: 1-D
    # contiguous operands, 3x faster than 2-D row-strided views; the pairs that wrap from one row's
    # end to the next row's start are no neighbours and are cleared.
    flat = z.ravel()
    size = flat.size
    marked = np.zeros(size, dtype=bool)
    factor = np.float32(threshold)
    gap_buffer, near_buffer = np.empty((2, size), dtype=np.float32)
    jump_buffer = np.empty(size, dtype=bool)
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):  # each neighbour pair once
        offset = dy * width + dx
        count = size - offset
        if count <= 0:
            continue
        a, b = flat[:count], flat[offset:]
        gap, near, jump = gap_buffer[:count], near_buffer[:count], jump_buffer[:count]
        with np.errstate(invalid="ignore"):
            np.abs(np.subtract(a, b, out=gap), out=gap)  # |a - b| > threshold * min(a, b)
            np.multiply(np.minimum(a, b, out=near), factor, out=near)
            np.greater(gap, near, out=jump)
        if dx == 1:
            jump[width - 1 :: width] = False  # last column with the next row's first
        elif dx == -1:
            jump[::width] = False  # first column with the row above's last
        marked[:count] |= jump
        marked[offset:] |= jump
    return marked.reshape(height, width)


@functools.lru_cache(maxsize=16)
def ray_grid(intrinsics: CameraIntrinsics, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The rays (z = 1) of every ``stride``-th pixel: per-column x/z = (u - cx) / fx (1 x W') and per-row
    y/z = (v - cy) / fy (H' x 1), float32, read-only; cached per (intrinsics, stride) since a camera's
    intrinsics rarely change."""
    u = np.arange(0, intrinsics.width, stride, dtype=np.float32)
    v = np.arange(0, intrinsics.height, stride, dtype=np.float32)
    x_ray = ((u - np.float32(intrinsics.cx)) / np.float32(intrinsics.fx))[None, :]
    y_ray = ((v - np.float32(intrinsics.cy)) / np.float32(intrinsics.fy))[:, None]
    x_ray.flags.writeable = y_ray.flags.writeable = False
    return x_ray, y_ray


@functools.lru_cache(maxsize=4)
def range_factors(intrinsics: CameraIntrinsics, stride: int) -> np.ndarray:
    """|p| / z = sqrt(1 + x_ray^2 + y_ray^2) per kept pixel (H' x W' float32, read-only, cached)."""
    x_ray, y_ray = ray_grid(intrinsics, stride)
    factors = np.sqrt(1.0 + x_ray**2 + y_ray**2, dtype=np.float32)
    factors.flags.writeable = False
    return factors
