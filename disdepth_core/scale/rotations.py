"""Rotations as ROS carries them (``geometry_msgs/Quaternion`` x, y, z, w; REP 103 frames), in numpy.

Conventions: a transform ``parent <- child`` maps a point in the child frame to the parent frame,
``p_parent = R p_child + t`` (tf2's ``lookup_transform(target=parent, source=child)``). Body frames are
x forward, y left, z up; optical frames x right, y down, z forward (REP 103 ``_optical``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "BODY_FROM_OPTICAL",
    "Rigid",
    "frame_with_x",
    "matrix_from_quaternion",
    "quaternion_from_matrix",
    "rotation_from_rpy",
    "rpy_from_matrix",
    "slerp",
]

BODY_FROM_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
"""The fixed rotation from a camera's optical frame to its body frame (``camera_link`` convention)."""


def matrix_from_quaternion(q: tuple[float, float, float, float] | np.ndarray) -> np.ndarray:
    """3x3 rotation of a quaternion (x, y, z, w), normalised first; ValueError for a zero/NaN one."""
    x, y, z, w = (float(v) for v in q)
    norm = math.sqrt(x * x + y * y + z * z + w * w)
    if not (math.isfinite(norm) and norm > 1e-9):
        raise ValueError(f"quaternion ({x}, {y}, {z}, {w}) is not a rotation (zero or non-finite)")
    x, y, z, w = x / norm, y / norm, z / norm, w / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def quaternion_from_matrix(r: np.ndarray) -> np.ndarray:
    """Quaternion (x, y, z, w) with w >= 0 of a 3x3 rotation matrix (Shepperd's method)."""
    r = np.asarray(r, dtype=np.float64)
    trace = r[0, 0] + r[1, 1] + r[2, 2]
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = [(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, 0.25 * s]
    else:
        i = int(np.argmax(np.diag(r)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * math.sqrt(1.0 + r[i, i] - r[j, j] - r[k, k])
        q = [0.0, 0.0, 0.0, (r[k, j] - r[j, k]) / s]
        q[i] = 0.25 * s
        q[j] = (r[j, i] + r[i, j]) / s
        q[k] = (r[k, i] + r[i, k]) / s
    out = np.array(q)
    return -out if out[3] < 0 else out


def rotation_from_rpy(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """``Rz(yaw) Ry(pitch) Rx(roll)`` (radians; URDF/tf2 fixed-axis roll-pitch-yaw; pitch > 0 tilts
    the x axis down)."""
    cr, sr, cp, sp, cy, sy = (math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch),
                              math.cos(yaw), math.sin(yaw))  # fmt: skip
    rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
    return rz @ ry @ rx


def frame_with_x(direction: np.ndarray) -> np.ndarray:
    """A rotation whose x axis is ``direction`` (normalised; y and z completed orthonormally): the frame
    of a beam sensor (REP 117: a range sensor measures along its x axis)."""
    x = np.asarray(direction, dtype=np.float64).reshape(3)
    norm = np.linalg.norm(x)
    if not (np.isfinite(norm) and norm > 1e-9):
        raise ValueError(f"a beam direction must be a non-zero finite vector, got {direction}")
    x = x / norm
    helper = np.array([0.0, 0.0, 1.0]) if abs(x[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    y = np.cross(helper, x)
    y /= np.linalg.norm(y)
    return np.stack([x, y, np.cross(x, y)], axis=1)


def rpy_from_matrix(r: np.ndarray) -> tuple[float, float, float]:
    """(roll, pitch, yaw) of ``rotation_from_rpy`` (radians; pitch in [-pi/2, pi/2])."""
    r = np.asarray(r, dtype=np.float64)
    pitch = math.asin(max(-1.0, min(1.0, -r[2, 0])))
    return math.atan2(r[2, 1], r[2, 2]), pitch, math.atan2(r[1, 0], r[0, 0])


def slerp(q0: np.ndarray, q1: np.ndarray, t: float) -> np.ndarray:
    """Spherical linear interpolation between unit quaternions (x, y, z, w), shortest path."""
    q0, q1 = np.asarray(q0, np.float64), np.asarray(q1, np.float64)
    dot = float(np.dot(q0, q1))
    if dot < 0:
        q1, dot = -q1, -dot
    if dot > 0.9995:  # nearly parallel: linear interpolation is exact enough and stable
        out = q0 + t * (q1 - q0)
        return out / np.linalg.norm(out)
    angle = math.acos(min(1.0, dot))
    return (math.sin((1 - t) * angle) * q0 + math.sin(t * angle) * q1) / math.sin(angle)


class Rigid:
    """A rigid transform ``p_parent = rotation @ p_child + translation`` (both float64)."""

    __slots__ = ("rotation", "translation")

    def __init__(self, rotation: np.ndarray, translation: np.ndarray) -> None:
        self.rotation = np.asarray(rotation, dtype=np.float64).reshape(3, 3)
        self.translation = np.asarray(translation, dtype=np.float64).reshape(3)

    @classmethod
    def identity(cls) -> Rigid:
        return cls(np.eye(3), np.zeros(3))

    @classmethod
    def from_quaternion(cls, translation: np.ndarray, quaternion: np.ndarray) -> Rigid:
        return cls(matrix_from_quaternion(quaternion), translation)

    def __matmul__(self, other: Rigid) -> Rigid:
        """Composition: ``(self @ other)`` maps other's child frame into self's parent frame."""
        return Rigid(self.rotation @ other.rotation, self.rotation @ other.translation + self.translation)

    def inverse(self) -> Rigid:
        rotation_t = self.rotation.T
        return Rigid(rotation_t, -rotation_t @ self.translation)
