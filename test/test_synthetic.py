"""Procedural renderer: exact depth on hand-built scenes, determinism, resolution independence."""

import numpy as np
import pytest

from disdepth_core.data.synthetic import KINDS, make_scene, render_scene, render_sequence, render_view
from disdepth_core.data.synthetic.primitives import (
    Box,
    CameraPose,
    Cylinder,
    Light,
    Material,
    Quad,
    Scene,
    Shell,
    Sphere,
    camera_rotation,
)

GREY = Material(np.full(3, 0.5, np.float32), np.full(3, 0.5, np.float32), "plain", 1.0)


def _scene(objects, size=(10.0, 10.0, 4.0), max_depth=20.0, lights=()):
    return Scene(
        kind="room",
        shell=Shell(np.zeros(3), np.array(size), [GREY] * 6),
        objects=objects,
        lights=list(lights),
        sky_ambient=np.full(3, 0.3, np.float32),
        ground_ambient=np.full(3, 0.2, np.float32),
        noise=np.zeros((64, 64), np.float32),
        max_depth=max_depth,
        corner_occlusion=0.0,
    )


def _k(f=50.0, h=41, w=61):
    return np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]], np.float32)


def test_wall_facing_camera_has_constant_depth():
    # Camera at x=1 looking along +x at the wall x=10: every pixel of that wall is 9 m deep.
    pose = CameraPose(np.array([1.0, 5.0, 2.0]), camera_rotation(0.0, 0.0, 0.0))
    out = render_view(_scene([]), pose, _k(f=200.0), 41, 61)
    np.testing.assert_allclose(out["depth"], 9.0, rtol=1e-5)


def test_depth_is_along_optical_axis_on_tilted_view():
    # Yawed camera: z-depth of the wall point = distance along the optical axis, not the ray length.
    yaw = 0.3
    pose = CameraPose(np.array([1.0, 5.0, 2.0]), camera_rotation(yaw, 0.0, 0.0))
    k = _k(f=200.0)
    out = render_view(_scene([]), pose, k, 41, 61)
    v, u = 20, 45
    ray_cam = np.array([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], 1.0])
    ray_world = pose.rotation @ ray_cam
    expected = (10.0 - 1.0) / ray_world[0]  # ray parameter with camera z = 1 is the z-depth
    assert out["depth"][v, u] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "obj,front",
    [
        (Sphere(np.array([5.0, 5.0, 2.0]), 0.8, GREY), 4.0 - 0.8),
        (Box(np.array([5.0, 5.0, 2.0]), np.array([0.5, 0.7, 0.6]), 0.0, GREY), 4.0 - 0.5),
        (Cylinder(np.array([5.0, 5.0, 0.0]), 0.6, 3.0, GREY), 4.0 - 0.6),
    ],
)
def test_object_front_depth_at_centre_pixel(obj, front):
    pose = CameraPose(np.array([1.0, 5.0, 2.0]), camera_rotation(0.0, 0.0, 0.0))
    out = render_view(_scene([obj]), pose, _k(), 41, 61)
    assert out["depth"][20, 30] == pytest.approx(front, rel=1e-5)
    assert out["depth"][0, 0] > front  # corners see the room behind


def test_slanted_quad_depth():
    # A 45 degree board through (4, 5, 2): centre ray hits it at 3 m.
    axis_v = np.array([np.sqrt(0.5), 0.0, np.sqrt(0.5)])
    quad = Quad(np.array([4.0, 5.0, 2.0]), np.array([0.0, 1.0, 0.0]), axis_v, 1.0, 1.0, GREY)
    pose = CameraPose(np.array([1.0, 5.0, 2.0]), camera_rotation(0.0, 0.0, 0.0))
    k = _k()
    out = render_view(_scene([quad]), pose, k, 41, 61)
    assert out["depth"][20, 30] == pytest.approx(3.0, rel=1e-5)
    # one row down the ray descends, so it meets the plane x - z = 2 nearer: x = 1 + t, z = 2 - t/f.
    t = 3.0 / (1.0 + 1.0 / k[1, 1])
    assert out["depth"][21, 30] == pytest.approx(t, rel=1e-5)


def test_object_behind_camera_is_culled_and_nearer_object_wins():
    behind = Sphere(np.array([0.5, 5.0, 2.0]), 0.3, GREY)
    near = Sphere(np.array([3.0, 5.0, 2.0]), 0.5, GREY)
    far = Sphere(np.array([6.0, 5.0, 2.0]), 1.5, GREY)
    pose = CameraPose(np.array([1.0, 5.0, 2.0]), camera_rotation(0.0, 0.0, 0.0))
    out = render_view(_scene([behind, far, near]), pose, _k(), 41, 61)
    assert out["depth"][20, 30] == pytest.approx(1.5, rel=1e-5)


def test_beyond_max_depth_is_invalid():
    pose = CameraPose(np.array([1.0, 5.0, 2.0]), camera_rotation(0.0, 0.0, 0.0))
    out = render_view(_scene([], max_depth=5.0), pose, _k(f=200.0), 41, 61)
    assert np.all(out["depth"] == 0.0)


@pytest.mark.parametrize("kind", KINDS)
def test_render_scene_contract_and_determinism(kind):
    a = render_scene(3, 48, 64, kind)
    b = render_scene(3, 48, 64, kind)
    assert a["image"].dtype == np.uint8 and a["image"].shape == (48, 64, 3)
    assert a["depth"].dtype == np.float32 and a["depth"].shape == (48, 64)
    assert a["K"].dtype == np.float32 and a["K"].shape == (3, 3)
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["depth"], b["depth"])
    valid = a["depth"] > 0
    assert valid.mean() > 0.5
    assert a["depth"][valid].max() <= (10.0 if kind == "room" else 80.0)
    assert a["image"].std() > 5  # textured, lit: not a flat image
    assert not np.array_equal(render_scene(4, 48, 64, kind)["depth"], a["depth"])


def test_same_seed_same_view_at_any_resolution():
    small = render_scene(11, 30, 40, "room")
    big = render_scene(11, 60, 80, "room")
    np.testing.assert_allclose(big["K"][0, 0], 2 * small["K"][0, 0], rtol=1e-6)
    # pixel (v, u) in the small image has its centre at (2v + 0.5, 2u + 0.5) in the big one:
    # compare against the mean of the 2x2 block, away from depth edges.
    block = big["depth"].reshape(30, 2, 40, 2).mean(axis=(1, 3))
    smooth = np.abs(block - small["depth"]) < 0.05 * np.maximum(small["depth"], 1e-3)
    assert smooth.mean() > 0.9


def test_render_sequence_moves_smoothly():
    frames = render_sequence(5, 6, 32, 40, "street")
    assert len(frames) == 6
    poses = np.stack([f["pose"] for f in frames])
    steps = np.linalg.norm(np.diff(poses[:, :3, 3], axis=0), axis=1)
    assert np.all(steps > 0) and steps.max() < 5.0
    np.testing.assert_allclose(
        poses[:, :3, :3] @ poses[:, :3, :3].transpose(0, 2, 1), np.eye(3)[None].repeat(6, 0), atol=1e-9
    )
    assert not np.array_equal(frames[0]["image"], frames[-1]["image"])


def test_unknown_kind_names_choices():
    with pytest.raises(ValueError, match="room"):
        render_scene(0, 8, 8, "forest")


def _backproject(depth, k, pose):
    """World points (H, W, 3) of every pixel from z-depth, K and the camera pose."""
    h, w = depth.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    cam = np.stack([(u - k[0, 2]) / k[0, 0] * depth, (v - k[1, 2]) / k[1, 1] * depth, depth], axis=-1)
    return cam @ pose.rotation.T + pose.position


def test_floor_pixels_backproject_to_the_floor_at_camera_height():
    # Empty 10 m room, camera 0.8 m above the floor pitched 0.3 rad down: the lower image half sees
    # only floor, whose back-projected height must be 0, i.e. the camera height below the camera.
    pose = CameraPose(np.array([2.0, 5.0, 0.8]), camera_rotation(0.0, 0.3, 0.0))
    k = _k(f=40.0)
    out = render_view(_scene([]), pose, k, 41, 61)
    pts = _backproject(out["depth"].astype(np.float64), k, pose)
    np.testing.assert_allclose(pts[25:, :, 2], 0.0, atol=1e-4)
    assert (pose.position[2] - pts[25:, :, 2]).min() == pytest.approx(0.8, abs=1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_random_scene_depth_is_consistent_with_k_and_pose(kind):
    # Metric, K-consistent depth: back-projected points never go below the floor, stay inside the
    # scene's bounds, and a good share of them lie exactly on the floor plane z = 0.
    for seed in range(3):
        scene, poses, (fx_n, cx_n, cy_n) = make_scene(seed, kind)
        k = np.array([[fx_n * 64, 0, cx_n * 64 - 0.5], [0, fx_n * 64, cy_n * 48 - 0.5], [0, 0, 1]])
        out = render_view(scene, poses[0], k.astype(np.float32), 48, 64)
        valid = out["depth"] > 0
        pts = _backproject(out["depth"].astype(np.float64), out["K"].astype(np.float64), poses[0])[valid]
        assert pts[:, 2].min() > -1e-3
        assert np.all(pts >= scene.shell.lo - 1e-3) and np.all(pts <= scene.shell.hi + 1e-3)
        assert np.mean(np.abs(pts[:, 2]) < 1e-3) > 0.03
        assert 50.0 <= np.rad2deg(2 * np.arctan(0.5 / fx_n)) <= 100.0


def test_lamp_shadow_darkens_the_floor_under_a_plate():
    # A 0.4 m square plate 1 m above the floor, a lamp 2 m above the floor straight above it: by similar
    # triangles its shadow is a square of half size 0.2 * 2 / 1 = 0.4 m, so the floor within 0.35 m of
    # the centre is shadowed while the ring 0.9-1.2 m away is lit.
    plate = Box(np.array([5.0, 5.0, 1.0]), np.array([0.2, 0.2, 0.01]), 0.0, GREY)
    lamp = np.array([5.0, 5.0, 2.0])
    pose = CameraPose(np.array([2.5, 5.0, 3.5]), camera_rotation(0.0, 0.9, 0.0))
    k = _k(f=60.0, h=81, w=121)
    means = {}
    for shadows in (True, False):
        light = Light("point", lamp, np.full(3, 4.0, np.float32), radius=0.3, shadows=shadows)
        out = render_view(_scene([plate], lights=[light]), pose, k, 81, 121)
        pts = _backproject(out["depth"].astype(np.float64), k, pose)
        on_floor = np.abs(pts[..., 2]) < 1e-4
        r = np.hypot(pts[..., 0] - 5.0, pts[..., 1] - 5.0)
        grey = out["image"].astype(np.float64).mean(axis=2)
        inner, ring = on_floor & (r < 0.35), on_floor & (r > 0.9) & (r < 1.2)
        assert inner.sum() > 20 and ring.sum() > 20
        means[shadows] = (grey[inner].mean(), grey[ring].mean())
    assert means[True][0] < 0.75 * means[True][1]  # shadowed centre darker than the lit ring
    assert means[False][0] > means[False][1]  # without shadows the centre, nearer the lamp, is brighter


def test_sun_shadow_of_a_wall_falls_on_the_floor():
    # Sun 30 degrees above the horizon in +x; the open-topped shell's 4 m high wall at x = 10 shadows
    # the floor where a ray towards the sun meets the wall below its top: x > 10 - 4 / tan(30 deg).
    el = np.deg2rad(30.0)
    sun = Light("sun", np.array([np.cos(el), 0.0, np.sin(el)]), np.full(3, 3.0, np.float32))
    pose = CameraPose(np.array([0.5, 5.0, 1.5]), camera_rotation(0.0, 0.35, 0.0))
    k = _k(f=40.0, h=61, w=81)
    edge = 10.0 - 4.0 / np.tan(el)
    ratios = {}
    for open_top in (True, False):
        scene = _scene([], lights=[sun])
        scene.shell = Shell(np.zeros(3), np.array([10.0, 10.0, 4.0]), [GREY] * 6, open_top=open_top)
        out = render_view(scene, pose, k, 61, 81)
        pts = _backproject(out["depth"].astype(np.float64), k, pose)
        on_floor = (np.abs(pts[..., 2]) < 1e-4) & (out["depth"] > 0)
        grey = out["image"].astype(np.float64).mean(axis=2)
        lit = on_floor & (pts[..., 0] > edge - 1.5) & (pts[..., 0] < edge - 0.3)
        shade = on_floor & (pts[..., 0] > edge + 0.3) & (pts[..., 0] < edge + 1.5)
        assert lit.sum() > 20 and shade.sum() > 20
        ratios[open_top] = grey[lit].mean() / grey[shade].mean()
    assert ratios[True] > 1.5  # sunlit floor vs the wall's shadow
    assert ratios[False] == pytest.approx(1.0, abs=0.05)  # a closed shell blocks the sun everywhere
