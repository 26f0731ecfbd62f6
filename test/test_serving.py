"""ROS-free serving helpers: frames lost before the node (stamp gaps), sparse-depth scale anchoring,
the colour-scale range of the colorized image."""

import numpy as np
import pytest

from disdepth_core.serving.stamp_gaps import StampGapCounter
from disdepth_core.visualize.colorize import display_range

PERIOD = 33_333_333  # 30 Hz


def test_stamp_gaps_count_missing_frames_only():
    counter = StampGapCounter()
    stamps = [i * PERIOD for i in range(20)]
    stamps += [stamps[-1] + 3 * PERIOD]  # 2 frames lost
    stamps += [stamps[-1] + PERIOD * k for k in range(1, 6)]
    stamps += [stamps[-1] + 11 * PERIOD]  # 10 lost
    for stamp in stamps:
        counter.add(stamp)
    assert counter.lost == 12
    assert counter.period_s == pytest.approx(1 / 30, rel=1e-3)
    counter.add(stamps[0])  # the clock went back (a bag restarted): nothing counted, estimate restarts
    counter.add(stamps[0] + 50 * PERIOD)
    assert counter.lost == 12 and counter.period_s is None


def test_jittery_camera_is_not_counted_as_losing_frames():
    rng = np.random.default_rng(0)
    counter = StampGapCounter()
    t = 0
    for _ in range(300):
        t += int(PERIOD * rng.uniform(0.8, 1.2))
        counter.add(t)
    assert counter.lost == 0


def test_display_range_uses_the_scene_not_the_validity_range():
    depth = np.linspace(1.0, 3.0, 100 * 100, dtype=np.float32).reshape(100, 100)
    depth[0, 0] = np.nan
    near, far = display_range(depth)
    assert 1.0 < near < 1.1 and 2.9 < far < 3.0
    assert display_range(np.full((8, 8), np.nan, np.float32)) is None
    assert display_range(np.full((8, 8), 2.0, np.float32)) is None
