"""Camera paths of the synthetic scenes, where robots carry cameras: indoors 0.3-1.5 m above the floor
with a slight pitch, outdoors 1.3-1.8 m on a car or 0.3-1.2 m on a sidewalk robot; horizontal field of
view drawn from ``FOV_DEGREES`` (50-100 degrees, narrow webcams to wide robot cameras)."""

from __future__ import annotations

import numpy as np

from disdepth_core.data.synthetic.primitives import (
    CameraPose,
    camera_rotation,
)

FOV_DEGREES = (50.0, 100.0)

ROOM_CAMERA_HEIGHT = (0.3, 1.5)

CAR_CAMERA_HEIGHT = (1.3, 1.8)

SIDEWALK_CAMERA_HEIGHT = (0.3, 1.2)


def camera_path(
    rng: np.random.Generator,
    n_frames: int,
    lo: np.ndarray,
    hi: np.ndarray,
    height: tuple[float, float],
    yaw_range: tuple[float, float],
    pitch_range: tuple[float, float],
    path_length: tuple[float, float],
    look_at: np.ndarray | None = None,
) -> list[CameraPose]:
    """A smooth path (forward motion along the heading, gentle sway and yaw) inside [lo, hi] in x, y.

    The heading is drawn from ``yaw_range``, relative to the direction towards the point of ``look_at``
    ((K, 2) x, y candidates, e.g. a room's corners) farthest from the start, if given: views across a room.
    """
    for _ in range(100):
        start = np.array([rng.uniform(lo[0], hi[0]), rng.uniform(lo[1], hi[1]), rng.uniform(*height)])
        yaw0 = rng.uniform(*yaw_range)
        if look_at is not None:
            target = look_at[int(np.argmax(np.linalg.norm(look_at - start[None, :2], axis=1)))]
            yaw0 += float(np.arctan2(target[1] - start[1], target[0] - start[0]))
        pitch0 = rng.uniform(*pitch_range)
        roll0 = rng.uniform(-0.04, 0.04)
        length = rng.uniform(*path_length) if n_frames > 1 else 0.0
        sway, yaw_amp = rng.uniform(0, 0.15) * length, rng.uniform(0, 0.3)
        phase = rng.uniform(0, 2 * np.pi)
        s = np.linspace(0.0, 1.0, n_frames)
        fwd = np.array([np.cos(yaw0), np.sin(yaw0), 0.0])
        left = np.array([-np.sin(yaw0), np.cos(yaw0), 0.0])
        pos = (
            start[None, :]
            + (length * s)[:, None] * fwd
            + (sway * np.sin(2 * np.pi * s + phase))[:, None] * left
        )
        if np.all(pos[:, :2] >= lo) and np.all(pos[:, :2] <= hi):
            yaws = yaw0 + yaw_amp * (np.sin(2 * np.pi * s + phase) - np.sin(phase))
            pitches = pitch0 + 0.03 * np.sin(4 * np.pi * s)
            return [CameraPose(pos[i], camera_rotation(yaws[i], pitches[i], roll0)) for i in range(n_frames)]
    raise RuntimeError("could not fit a camera path into the scene; use fewer frames or a larger scene")
