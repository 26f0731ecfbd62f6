"""Scale sources and the tracker (disdepth_core.scale): each source on exact scenes, the shared temporal
rules, and the ground plane's adversarial cases as sequences (no jump over 20 % between frames)."""

import math

import numpy as np
import pytest
from plane_scenes import PlaneScene, camera, model_depth

from disdepth_core.scale import (
    FrameContext,
    RangeReading,
    ScaleObservation,
    ScaleSettings,
    ScaleTracker,
    TrackerSettings,
    build_scale_source,
    mount_from_angles,
    scale_source_names,
)

CAMERA = camera()
TRUE_SCALE = 2.0
FRAME_NS = 100_000_000  # 10 Hz


def _context(index, height, pitch, **extra):
    return FrameContext(index * FRAME_NS, CAMERA, mount_from_angles(height, pitch), **extra)


def test_registry_lists_every_source_and_refuses_unknown_ones():
    assert set(scale_source_names()) >= {
        "auto",
        "model",
        "fixed:ARG",
        "sparse_depth",
        "range",
        "ground_plane",
    }
    with pytest.raises(ValueError, match=r"unknown scale source 'lidar'.*ground_plane"):
        build_scale_source("lidar")
    with pytest.raises(ValueError, match="fixed:ARG"):
        build_scale_source("fixed")
    with pytest.raises(ValueError, match="finite and > 0"):
        build_scale_source("fixed:-1")
    assert build_scale_source("fixed:2.5").observe(np.ones((4, 4)), FrameContext()).scale == 2.5


def test_ground_plane_recovers_the_scale_of_a_floor_with_furniture():
    scene = PlaneScene(boxes=[((2.0, -1.0, 0.0), (2.5, 0.0, 1.0)), ((3.0, 0.5, 0.0), (4.0, 1.5, 0.8))])
    depth = model_depth(scene.render(CAMERA, 0.8, 5.0), TRUE_SCALE)
    observation = build_scale_source("ground_plane").observe(depth, _context(0, 0.8, 5.0))
    assert observation.scale == pytest.approx(TRUE_SCALE, rel=0.03)
    assert "agrees with the floor" in observation.reason and observation.confidence > 0.5


def test_ground_plane_uses_the_floor_the_robot_stands_on_beside_a_kerb():
    """A sidewalk robot (camera 0.3 m above the sidewalk) sees the road 0.15 m lower beside it."""
    scene = PlaneScene(kerb_y=-0.5, kerb=0.15)
    source = build_scale_source("ground_plane")
    for lateral, pitch in ((-0.3, 8.0), (-0.45, 20.0)):
        depth = model_depth(scene.render(CAMERA, 0.45, pitch, y=lateral), TRUE_SCALE)
        assert source.observe(depth, _context(0, 0.3, pitch)).scale == pytest.approx(TRUE_SCALE, rel=0.05)


@pytest.mark.parametrize(
    ("scene", "height", "pitch", "expected"),
    [
        (PlaneScene(far_x=0.8), 0.5, 0.0, "not a receding floor"),  # a wall fills the view
        (PlaneScene(boxes=[((0.6, -0.8, 0.0), (1.4, 0.8, 0.45))]), 0.3, 0.0, "not a receding floor"),  # table
    ],
)
def test_ground_plane_refuses_when_the_floor_is_not_what_it_sees(scene, height, pitch, expected):
    depth = model_depth(scene.render(CAMERA, height, pitch), TRUE_SCALE)
    observation = build_scale_source("ground_plane").observe(depth, _context(0, height, pitch))
    assert observation.scale is None and expected in observation.reason


def test_ground_plane_needs_a_view_below_the_horizon_and_a_mount():
    narrow = camera(hfov_deg=40.0)  # vertical half angle about 15 deg: pitched up 20 deg sees no floor
    depth = model_depth(PlaneScene().render(narrow, 0.5, -20.0), TRUE_SCALE)
    source = build_scale_source("ground_plane")
    observation = source.observe(depth, FrameContext(0, narrow, mount_from_angles(0.5, -20.0)))
    assert observation.scale is None and "floor not in view" in observation.reason
    assert "no camera mount" in source.observe(depth, FrameContext(0, narrow)).reason


def _sequence(frames, spec="ground_plane"):
    """Run a tracker over (scene, height, pitch, x) frames; returns the decisions."""
    tracker = ScaleTracker(spec)
    decisions = []
    for index, (scene, height, pitch, x) in enumerate(frames):
        depth = model_depth(scene.render(CAMERA, height, pitch, x=x), TRUE_SCALE, seed=index)
        decisions.append(tracker.update(depth, _context(index, height, pitch)))
    return decisions


def _largest_step(decisions):
    scales = np.array([d.scale for d in decisions])
    return float(np.abs(np.diff(np.log(scales))).max())


ADVERSARIAL = {
    "wall filling the view": [(PlaneScene(far_x=4.0), 0.5, 0.0, x) for x in np.linspace(0.0, 3.5, 30)],
    "person stepping in front": [
        (PlaneScene(boxes=[((0.5, y - 0.3, 0.0), (0.8, y + 0.3, 1.7))]), 0.6, 10.0, 0.0)
        for y in np.linspace(-2.5, 0.0, 30)
    ],
    "camera pitching up to 20 deg": [(PlaneScene(), 0.5, p, 0.0) for p in np.linspace(10.0, -20.0, 30)],
    "10 deg ramp ahead": [
        (PlaneScene(ramp_x=3.0, ramp_deg=10.0), 0.5, 5.0, x) for x in np.linspace(0, 2.8, 30)
    ],
    "table in front of a 0.3 m camera": [
        (PlaneScene(boxes=[((2.0, -0.8, 0.0), (2.8, 0.8, 0.45))]), 0.3, 0.0, x)
        for x in np.linspace(0, 1.6, 30)
    ],
}


@pytest.mark.parametrize("case", sorted(ADVERSARIAL))
def test_ground_plane_never_jumps_over_20_percent_between_frames(case):
    decisions = _sequence(ADVERSARIAL[case])
    assert decisions[0].scale == pytest.approx(TRUE_SCALE, rel=0.05)  # starts on an open floor
    assert _largest_step(decisions) <= math.log(1.2), [d.describe() for d in decisions]
    assert all(d.scale is not None for d in decisions)


def test_wall_and_table_are_held_and_say_why():
    for case in ("wall filling the view", "table in front of a 0.3 m camera"):
        last = _sequence(ADVERSARIAL[case])[-1]
        assert last.state == "holding" and last.source == "ground_plane"
        assert "cannot decide" in last.reason and "holding for" in last.reason
        assert last.scale == pytest.approx(TRUE_SCALE, rel=0.05)


def _observations(values):
    """A fake source that returns the given scales (None: cannot decide) frame after frame."""

    class Scripted:
        name, relative_ok = "scripted", True

        def __init__(self):
            self.values = iter(values)

        def has_input(self, context):
            return True

        def observe(self, depth, context):
            value = next(self.values)
            return (
                ScaleObservation(value, 1.0, 1, "scripted") if value else ScaleObservation.undecided("none")
            )

    return Scripted()


def _tracker(values, **tracking):
    tracker = ScaleTracker("model", tracking=TrackerSettings(**tracking))
    tracker.sources = [_observations(values)]
    return tracker


def test_tracker_smooths_gates_and_follows_confirmed_changes():
    values = [2.0, 2.2, 5.0, 2.1, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    tracker = _tracker(values, smoothing=0.5, max_step=0.1, gate=0.25, confirm_frames=3)
    scales, states = [], []
    for index in range(len(values)):
        decision = tracker.update(np.ones((2, 2)), FrameContext(index * FRAME_NS))
        scales.append(decision.scale)
        states.append(decision.state)
    assert scales[0] == 2.0 and scales[1] == pytest.approx(2.0 * math.exp(0.5 * math.log(1.1)))
    assert states[2] == "gated" and scales[2] == scales[1]  # one outlier frame does not move it
    assert states[4:6] == ["gated", "gated"] and states[6] == "measuring"  # the third agreeing one does
    steps = np.abs(np.diff(np.log(scales)))
    assert steps.max() <= math.log(1.1) + 1e-9 and scales[-1] > 3.0


def test_tracker_holds_then_falls_back_for_a_metric_model_and_waits_for_a_relative_one():
    values = [3.0] + [None] * 30
    tracker = _tracker(values, hold_s=1.0)
    decisions = [tracker.update(np.ones((2, 2)), FrameContext(i * FRAME_NS)) for i in range(len(values))]
    held = decisions[5]
    assert held.state == "holding" and held.scale == pytest.approx(3.0) and "of 1 s" in held.reason
    assert (
        decisions[11].state == "fallback" and decisions[11].scale == 1.0 and decisions[11].source == "model"
    )
    relative = ScaleTracker("fixed:1", tracking=TrackerSettings(hold_s=1.0), relative_model=True)
    relative.sources = [_observations([None, 3.0] + [None] * 30)]
    first = relative.update(np.ones((2, 2)), FrameContext(0))
    assert first.scale is None and first.state == "waiting"
    later = [relative.update(np.ones((2, 2)), FrameContext(i * FRAME_NS)) for i in range(1, 31)]
    assert later[-1].state == "holding" and later[-1].scale == pytest.approx(3.0)  # no own scale: holds on


def test_relative_model_refuses_a_source_that_cannot_give_metres():
    with pytest.raises(ValueError, match="relative-depth model"):
        ScaleTracker("model", relative_model=True)


def test_auto_prefers_sparse_depth_while_it_publishes_then_the_floor_then_the_model():
    depth = model_depth(PlaneScene().render(CAMERA, 0.5, 10.0), TRUE_SCALE)
    sparse = np.full(depth.shape, np.nan, np.float32)
    sparse[::8, ::8] = (depth * 2.5)[::8, ::8]  # a sensor that says 2.5
    tracker = ScaleTracker(
        "auto", tracking=TrackerSettings(hold_s=0.5, smoothing=1.0, max_step=10.0, gate=10.0)
    )
    mount = mount_from_angles(0.5, 10.0)
    first = tracker.update(depth, FrameContext(0, CAMERA, mount, sparse_depth=sparse))
    assert first.source == "sparse_depth" and first.scale == pytest.approx(2.5)
    between = tracker.update(depth, FrameContext(FRAME_NS, CAMERA, mount))  # 10 Hz LiDAR, 30 Hz camera
    assert between.source == "sparse_depth" and between.state == "holding"
    later = tracker.update(depth, FrameContext(10 * FRAME_NS, CAMERA, mount))  # sensor silent for 1 s
    assert later.source == "ground_plane" and later.scale == pytest.approx(TRUE_SCALE, rel=0.05)
    bare = tracker.update(depth, FrameContext(11 * FRAME_NS, CAMERA))
    assert bare.source == "ground_plane" and bare.state == "holding"  # no mount: held, then the model
    assert tracker.update(depth, FrameContext(20 * FRAME_NS, CAMERA)).source == "model"


def test_sparse_depth_counts_each_point_once_at_any_resolution():
    prediction = np.full((60, 80), 2.0, np.float32)
    sensor = np.zeros((30, 40), np.float32)
    sensor[::3, ::3] = 5.0
    sensor[0, 0] = 500.0  # one bad point cannot move a median
    source = build_scale_source("sparse_depth", ScaleSettings(sparse_min_points=10))
    observation = source.observe(prediction, FrameContext(sparse_depth=sensor))
    assert observation.scale == pytest.approx(2.5) and observation.support == 140
    few = build_scale_source("sparse_depth", ScaleSettings(sparse_min_points=1000))
    assert "need 1000" in few.observe(prediction, FrameContext(sparse_depth=sensor)).reason


def test_range_beam_scales_the_depth_at_its_pixel():
    depth = model_depth(PlaneScene(far_x=3.0).render(CAMERA, 0.5, 0.0), TRUE_SCALE, noise=0.0)
    source = build_scale_source("range")
    beam = RangeReading((0.05, 0.0, 0.0), (0.0, 0.0, 1.0), 3.0, 0.1, 8.0, math.radians(5.0))
    observation = source.observe(depth, FrameContext(0, CAMERA, range_reading=beam))
    assert observation.scale == pytest.approx(TRUE_SCALE, rel=0.02) and observation.support > 1
    no_target = RangeReading((0.0, 0.0, 0.0), (0.0, 0.0, 1.0), math.inf, 0.1, 8.0, 0.1)
    assert (
        "outside the sensor" in source.observe(depth, FrameContext(0, CAMERA, range_reading=no_target)).reason
    )
    sideways = RangeReading((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), 2.0, 0.1, 8.0, 0.1)
    assert (
        "behind the camera" in source.observe(depth, FrameContext(0, CAMERA, range_reading=sideways)).reason
    )


def test_ground_plane_median_of_the_cluster_is_the_lower_middle_value():
    """The cluster's median is an order statistic (a partition, no sort): the lower middle of an even
    count, as the cumulative-count median it replaced picked it."""
    from disdepth_core.scale.ground_plane import _lower_median

    assert _lower_median(np.array([3.0, 1.0, 2.0], np.float32)) == 2.0
    assert _lower_median(np.array([4.0, 1.0, 3.0, 2.0], np.float32)) == 2.0
    values = np.random.default_rng(0).normal(size=1001).astype(np.float32)
    order = np.sort(values)
    cumulative = np.cumsum(np.ones_like(order))
    assert _lower_median(values) == order[np.searchsorted(cumulative, 0.5 * cumulative[-1])]


def test_ground_plane_geometry_follows_changes_of_intrinsics_and_mount():
    """The floor geometry is kept between frames: one source fed frames whose camera (size, K) and
    mount (height, tilt) change decides each exactly as a fresh source does."""
    scene = PlaneScene(boxes=[((2.0, -1.0, 0.0), (2.5, 0.0, 1.0))])
    kept = build_scale_source("ground_plane")
    frames = [(CAMERA, 0.8, 5.0), (CAMERA, 0.8, 5.0), (CAMERA, 0.5, 5.0), (CAMERA, 0.5, 15.0)]
    frames += [(camera(hfov_deg=60.0), 0.5, 15.0), (camera(640, 480), 0.5, 15.0), (CAMERA, 0.8, 5.0)]
    for index, (intrinsics, height, pitch) in enumerate(frames):
        depth = model_depth(scene.render(intrinsics, height, pitch), TRUE_SCALE, seed=index)
        context = FrameContext(index * FRAME_NS, intrinsics, mount_from_angles(height, pitch))
        observed = kept.observe(depth, context)
        assert observed == build_scale_source("ground_plane").observe(depth, context)
        assert observed.scale == pytest.approx(TRUE_SCALE, rel=0.05)
    wrong = kept.observe(depth, FrameContext(0, CAMERA, mount_from_angles(0.4, 5.0)))
    assert wrong.scale == pytest.approx(TRUE_SCALE * 0.5, rel=0.05)  # half the height: half the scale


def test_ground_plane_percentiles_are_numpys_bit_for_bit():
    from disdepth_core.scale.ground_plane import _percentiles

    rng = np.random.default_rng(3)
    for size in (*range(1, 12), 101, 5000):
        for values in (rng.normal(size=size), rng.integers(0, 4, size) * 0.1):  # ties included
            values = values.astype(np.float32)
            for percents in ((0.5, 99.5), (10, 90), (0, 100)):
                expected = np.percentile(values, percents)
                assert np.array_equal(_percentiles(values, percents), expected)
                assert _percentiles(values, percents).dtype == expected.dtype


def test_a_registered_source_is_listed_built_and_tracked(monkeypatch):
    """A new source is one class and one decorator: the choices, the help, the relative-model advice and
    the tracker then know it."""
    from disdepth_core.scale import register_scale_source, scale_source_help, sources
    from disdepth_core.scale.tracker import ScaleTracker as Tracker

    monkeypatch.setattr(sources, "_REGISTRY", dict(sources._REGISTRY))

    @register_scale_source("halved", "half the model's depth")
    class Halved:
        name = "halved"
        relative_ok = True

        def __init__(self, argument, settings):
            pass

        def has_input(self, context):
            return True

        def observe(self, depth, context):
            return ScaleObservation(0.5, 1.0, depth.size, "halved")

    assert "halved" in scale_source_names() and "halved: half the model's depth" in scale_source_help()
    assert "halved" in sources.relative_source_names() and "model" not in sources.relative_source_names()
    decision = Tracker("halved", relative_model=True).update(np.ones((4, 4)), FrameContext())
    assert decision.scale == pytest.approx(0.5) and decision.source == "halved"
    with pytest.raises(ValueError, match=r"use fixed:ARG, .*halved or auto"):
        Tracker("model", relative_model=True)
