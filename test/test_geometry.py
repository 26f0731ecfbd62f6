"""disdepth_core.geometry: intrinsics validation/scaling, vectorised back-projection, the valid-depth rule
and the canonical-focal factor."""

import math

import cv2
import numpy as np
import pytest

from disdepth_core.geometry import (
    CameraIntrinsics,
    depth_to_points,
    focal_depth_scale,
    focal_of_matrix,
    valid_depth,
)

INTR = CameraIntrinsics(fx=100.0, fy=110.0, cx=63.5, cy=47.5, width=128, height=96)


def _reference_points(depth, intr, stride=1, max_range=None):
    """Straightforward per-pixel back-projection (the definition the vectorised code must match)."""
    rows = []
    for v in range(0, depth.shape[0], stride):
        row = []
        for u in range(0, depth.shape[1], stride):
            z = float(depth[v, u])
            p = [(u - intr.cx) * z / intr.fx, (v - intr.cy) * z / intr.fy, z]
            if not (math.isfinite(z) and z > 0) or (max_range is not None and math.hypot(*p) > max_range):
                p = [math.nan] * 3
            row.append(p)
        rows.append(row)
    return np.array(rows, dtype=np.float32)


def test_K_and_from_K_roundtrip():
    K = INTR.K
    assert K.shape == (3, 3) and K[0, 0] == 100.0 and K[1, 2] == 47.5 and K[2, 2] == 1.0
    assert CameraIntrinsics.from_K(K, 128, 96) == INTR
    assert CameraIntrinsics.from_K(K.ravel().tolist(), 128, 96) == INTR
    P = np.hstack([K, np.array([[5.0], [0.0], [0.0]])])
    assert CameraIntrinsics.from_K(P.ravel(), 128, 96) == INTR
    with pytest.raises(ValueError, match="3x3"):
        CameraIntrinsics.from_K(np.eye(2), 128, 96)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fx": math.nan},
        {"cy": math.inf},
        {"fx": 0.0},
        {"fy": -5.0},
        {"width": 0},
        {"height": -1},
    ],
)
def test_validation(kwargs):
    values = {"fx": 100.0, "fy": 100.0, "cx": 10.0, "cy": 10.0, "width": 20, "height": 20, **kwargs}
    with pytest.raises(ValueError):
        CameraIntrinsics(**values)


def test_scaled_pixel_centre_convention():
    half = INTR.scaled(64, 48)
    assert (half.width, half.height) == (64, 48)
    assert half.fx == pytest.approx(50.0) and half.fy == pytest.approx(55.0)
    # The image centre stays the image centre: (127/2 + 0.5) / 2 - 0.5 = 31.5 = (64 - 1) / 2.
    assert half.cx == pytest.approx(31.5) and half.cy == pytest.approx(23.5)
    back = half.scaled(128, 96)
    assert (back.fx, back.cx, back.cy) == pytest.approx((INTR.fx, INTR.cx, INTR.cy))


def test_scaled_matches_cv2_resize_geometry():
    # A single bright column at u=40 in the big image lands at (40 + 0.5) * 0.5 - 0.5 after INTER_AREA x0.5.
    image = np.zeros((96, 128), np.float32)
    image[:, 40:42] = 1.0
    small = cv2.resize(image, (64, 48), interpolation=cv2.INTER_AREA)
    assert np.argmax(small[0]) == 20  # pixels 40, 41 -> 20 (centre 40.5 -> 20.0)


def test_depth_to_points_matches_reference():
    rng = np.random.default_rng(1)
    depth = rng.uniform(0.5, 8.0, (96, 128)).astype(np.float32)
    depth[3, 5] = np.nan
    depth[10, 10] = 0.0
    depth[11, 11] = -1.0
    depth[12, 12] = np.inf
    for stride, max_range in [(1, None), (3, None), (4, 5.0)]:
        points = depth_to_points(depth, INTR, stride=stride, max_range=max_range)
        reference = _reference_points(depth, INTR, stride, max_range)
        assert points.dtype == np.float32 and points.shape == reference.shape
        np.testing.assert_allclose(points, reference, rtol=1e-5, atol=1e-6, equal_nan=True)
        assert np.array_equal(np.isnan(points).any(-1), np.isnan(points).all(-1))
    points = depth_to_points(depth, INTR)
    assert np.isnan(points[3, 5]).all() and np.isnan(points[10, 10]).all() and np.isnan(points[12, 12]).all()
    assert points.shape == (96, 128, 3)


def test_depth_to_points_errors():
    with pytest.raises(ValueError, match="scaled"):
        depth_to_points(np.ones((48, 64), np.float32), INTR)
    with pytest.raises(ValueError, match="stride"):
        depth_to_points(np.ones((96, 128), np.float32), INTR, stride=0)
    with pytest.raises(ValueError, match="max_range"):
        depth_to_points(np.ones((96, 128), np.float32), INTR, max_range=-1.0)
    with pytest.raises(ValueError, match="H x W"):
        depth_to_points(np.ones((96, 128, 1), np.float32), INTR)


def test_flying_pixels_at_a_depth_step_are_removed_from_the_cloud():
    """A box edge (2 m) against a wall (5 m) smoothed over a few pixels, as monocular depth is: the
    in-between pixels become NaN points, the flat surfaces on both sides stay."""
    from disdepth_core.geometry import depth_discontinuities

    depth = np.full((20, 30), 5.0, np.float32)
    depth[:, :12] = 2.0
    depth[:, 12:15] = np.array([2.75, 3.5, 4.25], np.float32)  # the smeared edge
    intrinsics = CameraIntrinsics(25.0, 25.0, 14.5, 9.5, 30, 20)
    points = depth_to_points(depth, intrinsics, discontinuity=0.1)
    removed = np.isnan(points[..., 2])
    assert removed[:, 11:16].all()  # the ramp and the pixels touching it
    assert not removed[:, :11].any() and not removed[:, 16:].any()
    assert np.array_equal(removed, depth_discontinuities(depth, 0.1))
    gentle = np.linspace(2.0, 2.5, 20 * 30, dtype=np.float32).reshape(20, 30)  # a receding floor: kept
    assert not np.isnan(depth_to_points(gentle, intrinsics, discontinuity=0.1)).any()
    with pytest.raises(ValueError, match="positive"):
        depth_discontinuities(depth, 0.0)


def test_depth_discontinuities_match_a_per_pixel_reference():
    """Every shape (single rows and columns too), NaN, +inf, zero and negative depth, ties: the same
    marks as comparing each pixel with each of its 8 neighbours one by one."""
    from disdepth_core.geometry import depth_discontinuities

    def reference(depth, threshold):
        height, width = depth.shape
        marked = np.zeros(depth.shape, dtype=bool)
        t = np.float32(threshold)
        for v in range(height):
            for u in range(width):
                for dv in (-1, 0, 1):
                    for du in (-1, 0, 1):
                        q = (v + dv, u + du)
                        if (dv or du) and 0 <= q[0] < height and 0 <= q[1] < width:
                            a, b = depth[v, u], depth[q]
                            with np.errstate(invalid="ignore"):
                                marked[v, u] |= bool(np.abs(a - b) > t * np.minimum(a, b))
        return marked

    rng = np.random.default_rng(11)
    for shape in ((1, 1), (1, 6), (6, 1), (2, 2), (3, 5), (7, 4)):
        depth = np.round(rng.random(shape) * 4, 1).astype(np.float32)
        depth[rng.random(shape) < 0.15] = np.nan
        depth[rng.random(shape) < 0.1] = np.inf
        depth[rng.random(shape) < 0.1] = rng.choice([0.0, -1.0])
        for threshold in (0.1, 1.0):
            assert np.array_equal(depth_discontinuities(depth, threshold), reference(depth, threshold))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_valid_depth_is_finite_and_positive(dtype):
    values = np.array([np.nan, 0.0, -0.0, np.inf, -np.inf, -1.0, 1e-30, 1e-3, 2.5, 80.0], dtype=dtype)
    expected = [False, False, False, False, False, False, True, True, True, True]
    assert valid_depth(values).tolist() == expected
    assert valid_depth(values.reshape(2, 5)).tolist() == [expected[:5], expected[5:]]


def test_valid_depth_of_empty_and_integer_depth():
    assert valid_depth(np.zeros((0, 3))).shape == (0, 3)
    assert valid_depth(np.array([0, 1000, 65535], np.uint16)).tolist() == [False, True, True]  # 16UC1 mm
    assert valid_depth([[0.0, 1.0]]).tolist() == [[False, True]]


@pytest.mark.parametrize(
    ("k", "fx"),
    [
        (None, 0.0),
        (np.eye(3), 1.0),
        ([[517.3, 0, 318.6], [0, 516.5, 255.3], [0, 0, 1]], 517.3),
        ([400.0, 0, 10, 0, 410.0, 20, 0, 0, 1], 400.0),  # CameraInfo.k order
        (np.zeros((3, 3)), 0.0),
        (np.diag([-300.0, 300.0, 1.0]), 0.0),
        (np.diag([np.nan, 300.0, 1.0]), 0.0),
        (np.diag([np.inf, 300.0, 1.0]), 0.0),
    ],
)
def test_focal_of_matrix_is_fx_or_zero_when_unknown(k, fx):
    assert focal_of_matrix(None if k is None else np.asarray(k, dtype=np.float64)) == fx


def test_focal_depth_scale_between_metric_and_canonical_depth():
    # Metric3D: depth for canonical focal f_c times fx_in / f_c is metric depth (0 = metric).
    assert focal_depth_scale(400.0, 200.0, 0.0) == 2.0  # canonical -> metric
    assert focal_depth_scale(400.0, 0.0, 200.0) == 0.5  # metric -> canonical
    assert focal_depth_scale(250.0, 1000.0, 0.0) == 0.25
    assert focal_depth_scale(123.0, 150.0, 600.0) == 4.0  # two canonical focals: fx_in plays no part
    assert focal_depth_scale(0.0, 150.0, 600.0) == 4.0  # teacher and student both canonical: no fx needed
    assert focal_depth_scale(0.0, 0.0, 0.0) == 1.0
    assert focal_depth_scale(float("nan"), 300.0, 300.0) == 1.0
    # two steps through metric depth give the direct factor: 2 * 0.25 = 100 / 200
    assert focal_depth_scale(400.0, 200.0, 0.0) * focal_depth_scale(400.0, 0.0, 100.0) == 0.5


@pytest.mark.parametrize("fx_in", [0.0, -400.0, float("nan")])
def test_focal_depth_scale_needs_the_focal_when_one_side_is_metric(fx_in):
    for source, target in ((0.0, 200.0), (200.0, 0.0)):
        with pytest.raises(ValueError, match="give the dataset intrinsics K"):
            focal_depth_scale(fx_in, source, target)
