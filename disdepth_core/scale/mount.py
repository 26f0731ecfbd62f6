"""Where the camera is on the robot: its height above the floor and which way is up, in the image.

The ground-plane scale (:mod:`disdepth_core.scale.ground_plane`) needs exactly two facts about the
camera's mounting, expressed in its optical frame (REP 103: x right, y down, z forward):
``height_m`` above the floor and ``up``, the floor's unit normal pointing from the floor towards the
camera's side, so that ``up . p + height_m = 0`` for every floor point ``p`` (the convention of
``../shared/data/README.md``'s ``mount``). A below-horizon ray ``r`` (z = 1) meets the floor at depth
``height_m / (-up . r)``.

They come from TF (:func:`mount_from_transform`: the camera's optical frame in ``base_footprint``,
whose z axis is up and whose origin lies on the floor, REP 120) or from three numbers a user measures
(:func:`mount_from_angles`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from disdepth_core.scale.rotations import BODY_FROM_OPTICAL, Rigid, rotation_from_rpy

__all__ = ["CameraMount", "mount_from_angles", "mount_from_transform"]


@dataclass(frozen=True)
class CameraMount:
    """Camera height above the floor (m) and the floor's up normal in the optical frame (unit)."""

    height_m: float
    up: tuple[float, float, float]
    source: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.height_m) and self.height_m > 0):
            raise ValueError(
                f"camera height must be > 0 m above the floor, got {self.height_m} ({self.source or 'mount'})"
            )
        up = np.asarray(self.up, dtype=np.float64)
        if up.shape != (3,) or not np.all(np.isfinite(up)) or abs(np.linalg.norm(up) - 1.0) > 1e-3:
            raise ValueError(f"mount 'up' must be a unit 3-vector, got {self.up}")

    @property
    def down(self) -> np.ndarray:
        """The unit vector from the camera towards the floor, optical frame (float64)."""
        return -np.asarray(self.up, dtype=np.float64)

    @property
    def pitch_deg(self) -> float:
        """Tilt of the optical axis below the horizon (deg; the inverse of :func:`mount_from_angles`)."""
        return math.degrees(math.asin(max(-1.0, min(1.0, -self.up[2])))) + 0.0  # + 0.0: never "-0.0"

    @property
    def roll_deg(self) -> float:
        """Roll about the forward axis (deg; the inverse of :func:`mount_from_angles`)."""
        return math.degrees(math.atan2(-self.up[0], -self.up[1])) + 0.0

    def describe(self) -> str:
        """One line: height, tilt below the horizon, roll, and where the mount came from."""
        return (
            f"camera {self.height_m:.3f} m above the floor, pitch {self.pitch_deg:+.1f} deg, roll "
            f"{self.roll_deg:+.1f} deg ({self.source})"
        )


def mount_from_angles(
    height_m: float, pitch_deg: float, roll_deg: float = 0.0, source: str = "parameters"
) -> CameraMount:
    """A mount from measured numbers: height above the floor, pitch (> 0 looks down) and roll of the
    camera about its forward axis (right-handed about the body x axis, REP 103)."""
    world_from_optical = (
        rotation_from_rpy(math.radians(roll_deg), math.radians(pitch_deg), 0.0) @ BODY_FROM_OPTICAL
    )
    up = world_from_optical.T @ np.array([0.0, 0.0, 1.0])
    return CameraMount(float(height_m), _unit(up), source)


def mount_from_transform(base_from_camera: Rigid, source: str) -> CameraMount:
    """A mount from TF: ``base_from_camera`` maps the camera's *optical* frame into a base frame whose
    z axis is up and whose origin is on the floor (``base_footprint``, REP 120)."""
    up = base_from_camera.rotation.T @ np.array([0.0, 0.0, 1.0])
    return CameraMount(float(base_from_camera.translation[2]), _unit(up), source)


def _unit(vector: np.ndarray) -> tuple[float, float, float]:
    vector = np.asarray(vector, dtype=np.float64)
    vector = vector / np.linalg.norm(vector)
    return (float(vector[0]), float(vector[1]), float(vector[2]))
