"""``ground_plane``: the metric scale from the robot's own geometry (camera height and tilt) and the floor.

On a flat floor a pixel whose ray ``r`` (z = 1) points below the horizon meets the floor at depth
``z_floor = h / (down . r)`` (:mod:`disdepth_core.scale.mount`), and nothing below the floor can be
seen, so along every such ray the true depth is at most ``z_floor``, with equality on floor pixels.
For a model's depth ``z`` the ratio ``q = z_floor / z`` therefore equals the true scale on floor pixels
and exceeds it on everything standing on the floor (obstacles only push ``q`` up).

Estimator (what was chosen, measured in docs/scale_sources.md):

1. Candidates: every ``stride``-th pixel (the grid is about ``GRID_WIDTH`` wide) at least
   ``MIN_BELOW_DEG`` below the horizon (near the horizon ``z_floor`` explodes with any tilt error)
   with a valid prediction.
2. The scale is the *densest cluster* of ``log q``: a kernel density (Gaussian, ``BANDWIDTH`` in log
   units) of ``log q``, each candidate counting once; its highest peak, refined to the median of
   ``log q`` within ``2 * BANDWIDTH`` of it (the lower middle value of an even count). A floor
   concentrates its ratios, an obstacle spreads them over a range (its rows see the floor at different
   distances). Not the lowest percentile of ``q``, as the geometry
   suggests: a real model's floor is not exactly planar and that envelope is biased low by the spread;
   nor the lowest cluster: a lower plane beside the robot's floor (the road beside a sidewalk) forms one
   (both measured: docs/scale_sources.md).
3. The floor must be what is seen, else the source refuses (the tracker holds the last scale): at least
   ``MIN_FLOOR_SHARE`` of the candidates agrees with the scale within ``AGREEMENT`` (log units;
   wide enough for a model whose floor is not exactly planar; a wall, a person or a table filling the
   lower image leaves little floor), and those floor pixels must recede: their floor depths span at
   least ``MIN_RECESSION`` (p90 / p10). A surface facing the camera agrees with "a floor at some scale"
   only in a thin band of rows, whose floor depths span at most about ``exp(2 * AGREEMENT)`` = 1.65.
4. Confidence rises with the floor's share (1 at ``FULL_CONFIDENCE_SHARE``).

A plane parallel to the floor at another height (a table top seen from above) is geometrically the
floor at another scale; no single frame can tell them apart, so the tracker's gate (a jump has to
persist before it is followed) is what protects against it.
"""

from __future__ import annotations

import math

import numpy as np

from disdepth_core.geometry import CameraIntrinsics, range_factors, ray_grid, valid_depth
from disdepth_core.scale.mount import CameraMount
from disdepth_core.scale.sources import FrameContext, ScaleObservation, ScaleSettings, register_scale_source

__all__ = ["GroundPlaneScale"]

GRID_WIDTH = 160
MIN_BELOW_DEG = 3.0
BANDWIDTH = 0.15
AGREEMENT = 0.25
MIN_CANDIDATE_SHARE = 0.02
MIN_FLOOR_SHARE = 0.15
MIN_RECESSION = 1.6
FULL_CONFIDENCE_SHARE = 0.5
_BINS_PER_BANDWIDTH = 4


@register_scale_source(
    "ground_plane", "the floor seen from the camera's known height and tilt (TF or parameters)"
)
class GroundPlaneScale:
    name = "ground_plane"
    relative_ok = True

    def __init__(self, argument: str, settings: ScaleSettings) -> None:
        self._sin_min = math.sin(math.radians(MIN_BELOW_DEG))
        kernel_x = np.arange(-3 * _BINS_PER_BANDWIDTH, 3 * _BINS_PER_BANDWIDTH + 1) / _BINS_PER_BANDWIDTH
        self._kernel = np.exp(-0.5 * kernel_x**2)
        self._geometry_key: tuple | None = None
        self._geometry: tuple[np.ndarray, np.ndarray] = (np.zeros((0, 0), bool), np.zeros(0, np.float32))

    def has_input(self, context: FrameContext) -> bool:
        return context.mount is not None and context.intrinsics is not None

    def observe(self, depth: np.ndarray, context: FrameContext) -> ScaleObservation:
        mount, intrinsics = context.mount, context.intrinsics
        if mount is None:
            return ScaleObservation.undecided("no camera mount (TF or camera_height_m) known")
        if intrinsics is None:
            return ScaleObservation.undecided("no camera_info for this image")
        if depth.shape != (intrinsics.height, intrinsics.width):
            raise ValueError(
                f"depth {depth.shape} does not match the intrinsics {intrinsics.width}x{intrinsics.height}"
            )
        stride = max(1, round(intrinsics.width / GRID_WIDTH))
        below, below_floor_depth = self._floor_geometry(intrinsics, stride, mount)
        # The predictions along the rays below the horizon, bottom row first: floor depth then mostly
        # ascends, which numpy's partition (percentiles, median) selects from 3x faster than descending.
        z = depth[::stride, ::stride][below][::-1]
        valid = valid_depth(z)
        count = int(np.count_nonzero(valid))
        grid_size = below.size
        if count < MIN_CANDIDATE_SHARE * grid_size:
            return ScaleObservation.undecided(
                f"floor not in view: {count / grid_size:.0%} of the image is {MIN_BELOW_DEG:g} deg below the "
                "horizon",
                count,
            )
        floor_depth = below_floor_depth[valid]
        z = z[valid]
        log_ratio = np.log(floor_depth / z)
        log_scale = self._densest_cluster(log_ratio)
        inlier = np.abs(log_ratio - log_scale) < AGREEMENT
        share = np.count_nonzero(inlier) / inlier.size
        if share < MIN_FLOOR_SHARE:
            return ScaleObservation.undecided(
                f"only {share:.0%} of the view below the horizon agrees with a floor {mount.height_m:.2f} m "
                "down (a wall, person or table in front?)",
                count,
            )
        near, far = _percentiles(floor_depth[inlier], (10, 90))
        recession = float(far / near)
        if recession < MIN_RECESSION:
            return ScaleObservation.undecided(
                f"the floor-like pixels span only {recession:.2f}x in distance (a surface facing the camera, "
                "not a receding floor)",
                count,
            )
        return ScaleObservation(
            math.exp(log_scale),
            min(1.0, share / FULL_CONFIDENCE_SHARE),
            int(np.count_nonzero(inlier)),
            f"{share:.0%} of the view below the horizon agrees with the floor, {near:.1f}-{far:.1f} m",
        )

    def _floor_geometry(
        self, intrinsics: CameraIntrinsics, stride: int, mount: CameraMount
    ) -> tuple[np.ndarray, np.ndarray]:
        """Which grid pixels look at least ``MIN_BELOW_DEG`` below the horizon (H' x W' bool) and the floor
        depth ``h / (down . r)`` along each of them (1-D float32, last pixel first): a camera's intrinsics and
        mount rarely change, so the last one is kept and recomputed only when intrinsics, stride, height
        or floor normal differ."""
        key = (intrinsics, stride, float(mount.height_m), tuple(float(value) for value in mount.up))
        if self._geometry_key != key:
            x_ray, y_ray = ray_grid(intrinsics, stride)
            down = mount.down
            toward_floor = np.float32(down[0]) * x_ray + np.float32(down[1]) * y_ray + np.float32(down[2])
            below = toward_floor > self._sin_min * range_factors(intrinsics, stride)
            floor_depth = (np.float32(mount.height_m) / toward_floor[below])[::-1].copy()
            below.flags.writeable = floor_depth.flags.writeable = False
            self._geometry_key, self._geometry = key, (below, floor_depth)
        return self._geometry

    def _densest_cluster(self, log_ratio: np.ndarray) -> float:
        """Step 2 of the module docstring: the median of the densest cluster of log q (each candidate
        counts once)."""
        step = BANDWIDTH / _BINS_PER_BANDWIDTH
        low, high = _percentiles(log_ratio, (0.5, 99.5))
        values = log_ratio[(log_ratio >= low) & (log_ratio <= high)]
        index = ((values - low) / step).astype(np.int64)
        density = np.convolve(np.bincount(index), self._kernel)  # bin j - len(kernel) // 2
        peak = low + (int(np.argmax(density)) - len(self._kernel) // 2 + 0.5) * step
        return _lower_median(values[np.abs(values - peak) < 2 * BANDWIDTH])


def _percentiles(values: np.ndarray, percents: tuple[float, float]) -> np.ndarray:
    """``np.percentile(values, percents)`` (its default linear method) of finite 1-D ``values``, bit for bit,
    without its generic-case overhead (about 30 us a call): the same order statistics, interpolated with
    the same float64 arithmetic (numpy's ``_lerp``)."""
    q = np.true_divide(percents, 100)
    last = values.size - 1
    virtual = last * q
    previous = np.floor(virtual)
    following = previous + 1
    above = virtual >= last
    previous[above] = following[above] = -1  # the largest value
    previous, following = previous.astype(np.intp), following.astype(np.intp)
    ordered = np.partition(values, np.unique(np.concatenate((previous, following))))
    a, b = ordered[previous], ordered[following]
    gamma = virtual - previous
    difference = b - a
    result = np.add(a, difference * gamma)
    np.subtract(b, difference * (1 - gamma), out=result, where=gamma >= 0.5)
    return result


def _lower_median(values: np.ndarray) -> float:
    """The ((n - 1) // 2)-th smallest value: the median of an even count is the lower middle one."""
    middle = (values.size - 1) // 2
    return float(np.partition(values, middle)[middle])
