"""Exact depth of tiny analytic scenes (a floor, walls, boxes, a kerb, a ramp) for scale-source tests.

World frame z up, floor at z = 0; a camera at ``height`` above the origin looks along +x with ROS body
``pitch`` (> 0 looks down) and ``roll``; its optical-frame rotation comes from the synthetic renderer
(``camera_rotation``), an implementation independent of ``disdepth_core.scale``. Every ray has an
optical z of 1, so the ray parameter of the nearest hit is the depth (REP 118).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from disdepth_core.data.synthetic.primitives import camera_rotation
from disdepth_core.geometry import CameraIntrinsics


@dataclass
class PlaneScene:
    """Surfaces: the floor (optionally raised by ``kerb`` for y > ``kerb_y``, or rising as a ramp of
    ``ramp_deg`` from x = ``ramp_x``), axis-aligned boxes (lo, hi corners) and a far wall at ``far_x``."""

    boxes: list[tuple[tuple[float, float, float], tuple[float, float, float]]] = field(default_factory=list)
    far_x: float = 12.0
    kerb_y: float | None = None
    kerb: float = 0.0
    ramp_x: float | None = None
    ramp_deg: float = 0.0

    def render(self, camera: CameraIntrinsics, height: float, pitch_deg: float, roll_deg: float = 0.0,
               x: float = 0.0, y: float = 0.0) -> np.ndarray:  # fmt: skip
        """Depth (float32 H x W, metres along the optical axis) seen by the camera."""
        rot = camera_rotation(0.0, np.radians(pitch_deg), np.radians(roll_deg))
        u = (np.arange(camera.width) - camera.cx) / camera.fx
        v = (np.arange(camera.height) - camera.cy) / camera.fy
        rays = np.stack(np.broadcast_arrays(u[None, :], v[:, None], np.ones((1, 1))), axis=-1) @ rot.T
        origin = np.array([x, y, height])
        best = np.full(rays.shape[:2], np.inf)
        for t in self._planes(origin, rays):
            best = np.where((t > 1e-6) & (t < best), t, best)
        for lo, hi in self.boxes:
            best = np.minimum(best, _slab(origin, rays, np.array(lo), np.array(hi)))
        return best.astype(np.float32)

    def _planes(self, origin: np.ndarray, rays: np.ndarray) -> list[np.ndarray]:
        dx, dy, dz = rays[..., 0], rays[..., 1], rays[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            floor = -origin[2] / dz
            hit_y = origin[1] + floor * dy
            hit_x = origin[0] + floor * dx
            out = []
            if self.kerb_y is not None:  # the floor beyond kerb_y is `kerb` higher (a raised sidewalk)
                raised = (self.kerb - origin[2]) / dz
                raised_y = origin[1] + raised * dy
                out.append(np.where(raised_y > self.kerb_y, raised, np.inf))
                floor = np.where(hit_y <= self.kerb_y, floor, np.inf)
            if self.ramp_x is not None:  # z = (x - ramp_x) tan(a) for x > ramp_x
                slope = np.tan(np.radians(self.ramp_deg))
                t = (slope * (origin[0] - self.ramp_x) - origin[2]) / (dz - slope * dx)
                out.append(np.where(origin[0] + t * dx > self.ramp_x, t, np.inf))
                floor = np.where(hit_x <= self.ramp_x, floor, np.inf)
            out.append(floor)
            out.append((self.far_x - origin[0]) / dx)
        return out


def _slab(origin: np.ndarray, rays: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Ray parameter of the first hit with the box [lo, hi] (inf where missed)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (lo - origin) / rays
        t2 = (hi - origin) / rays
    near = np.nanmax(np.minimum(t1, t2), axis=-1)
    far = np.nanmin(np.maximum(t1, t2), axis=-1)
    return np.where((far >= near) & (far > 1e-6), np.maximum(near, 0.0), np.inf)


def camera(width: int = 320, height: int = 240, hfov_deg: float = 70.0) -> CameraIntrinsics:
    """A pinhole camera with the principal point in the middle."""
    fx = width / 2 / np.tan(np.radians(hfov_deg) / 2)
    return CameraIntrinsics(fx, fx, (width - 1) / 2, (height - 1) / 2, width, height)


def model_depth(depth: np.ndarray, scale: float, seed: int = 0, noise: float = 0.05) -> np.ndarray:
    """What a decent model predicts: the true depth divided by ``scale`` (the unknown metric scale) with
    smooth multiplicative noise; NaN where nothing was hit."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0.0, noise, (6, 8))
    import cv2

    field_ = cv2.resize(coarse, (depth.shape[1], depth.shape[0]), interpolation=cv2.INTER_CUBIC)
    pixel = rng.normal(0.0, noise / 2, depth.shape)
    pred = depth / scale * np.exp(field_ + pixel)
    return np.where(np.isfinite(depth), pred, np.nan).astype(np.float32)
