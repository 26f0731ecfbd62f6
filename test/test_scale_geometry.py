"""The camera mount, TF lookups and the ratio rule (disdepth_core.scale: mount, transforms, ratios)."""

import math

import numpy as np
import pytest

from disdepth_core.data.synthetic.primitives import camera_rotation
from disdepth_core.scale import (
    CameraMount,
    TransformBuffer,
    TransformLookupError,
    median_of_ratios,
    mount_from_angles,
    mount_from_transform,
    ratio_of_medians,
)
from disdepth_core.scale.ratios import valid_pairs
from disdepth_core.scale.rotations import matrix_from_quaternion, quaternion_from_matrix, rotation_from_rpy

# camera_link -> camera_optical_frame as every ROS camera driver publishes it (REP 103)
OPTICAL_IN_LINK = (-0.5, 0.5, -0.5, 0.5)


def test_ratio_rules_differ_and_ignore_invalid_pixels():
    reference = np.array([1.0, 2.0, 10.0, np.nan, 0.0, 5.0])
    prediction = np.array([1.0, 1.0, 1.0, 1.0, 1.0, np.nan])
    assert median_of_ratios(reference, prediction) == pytest.approx(2.0)  # ratios 1, 2, 10
    assert ratio_of_medians(reference, prediction) == pytest.approx(2.0)
    reference2, prediction2 = np.array([1.0, 4.0, 9.0]), np.array([1.0, 1.0, 3.0])
    assert median_of_ratios(reference2, prediction2) == pytest.approx(3.0)  # ratios 1, 4, 3
    assert ratio_of_medians(reference2, prediction2) == pytest.approx(4.0)  # 4 / 1
    assert median_of_ratios(reference2, prediction2, min_points=4) is None


def test_valid_pairs_keep_pixels_where_both_values_are_finite_and_positive():
    reference = np.array([1.0, 2.0, np.inf, -3.0, -0.0, 4.0, 6.0, 5.0])
    prediction = np.array([2.0, np.nan, 1.0, 1.0, 1.0, -np.inf, 3.0, 0.0])
    kept_reference, kept_prediction = valid_pairs(reference, prediction)
    assert kept_reference.tolist() == [1.0, 6.0] and kept_prediction.tolist() == [2.0, 3.0]
    assert median_of_ratios(reference, prediction) == 1.25  # ratios 0.5 and 2
    assert ratio_of_medians(reference, prediction) == 1.4  # 3.5 / 2.5
    assert median_of_ratios(reference, prediction, min_points=3) is None
    empty = np.zeros(0)
    assert median_of_ratios(empty, empty) is None and ratio_of_medians(empty, empty) is None
    with pytest.raises(ValueError, match="differ in shape"):
        valid_pairs(np.ones(3), np.ones(4))


@pytest.mark.parametrize(("pitch", "roll"), [(0.0, 0.0), (12.0, 0.0), (-20.0, 3.0), (5.0, -8.0)])
def test_mount_from_angles_matches_the_renderer_camera(pitch, roll):
    world_from_optical = camera_rotation(0.7, math.radians(pitch), math.radians(roll))
    expected_up = world_from_optical.T @ np.array([0.0, 0.0, 1.0])
    mount = mount_from_angles(1.3, pitch, roll)
    assert np.allclose(mount.up, expected_up, atol=1e-9)
    assert f"pitch {pitch:+.1f} deg" in mount.describe() and f"roll {roll:+.1f} deg" in mount.describe()


def test_mount_from_tf_chain_equals_mount_from_angles():
    tf = TransformBuffer()
    tf.set_transform(
        "odom", "base_footprint", 0, (4.0, -2.0, 0.0), quaternion_from_matrix(rotation_from_rpy(0, 0, 1.1))
    )
    link = quaternion_from_matrix(rotation_from_rpy(math.radians(-4.0), math.radians(15.0), 0.0))
    tf.set_transform("base_footprint", "camera_link", 0, (0.2, 0.0, 0.62), link, static=True)
    tf.set_transform("camera_link", "camera_optical_frame", 0, (0.0, 0.0, 0.0), OPTICAL_IN_LINK, static=True)
    mount = mount_from_transform(tf.lookup("base_footprint", "camera_optical_frame", 0), "tf")
    expected = mount_from_angles(0.62, 15.0, -4.0)
    assert mount.height_m == pytest.approx(0.62)
    assert np.allclose(mount.up, expected.up, atol=1e-9)


def test_transform_buffer_interpolates_and_refuses_what_it_does_not_know():
    tf = TransformBuffer(cache_s=None, max_extrapolation_s=0.05)
    tf.set_transform("odom", "base", 0, (0.0, 0.0, 0.0), (0, 0, 0, 1))
    tf.set_transform(
        "odom",
        "base",
        1_000_000_000,
        (2.0, 0.0, 0.0),
        quaternion_from_matrix(rotation_from_rpy(0, 0, math.pi / 2)),
    )
    half = tf.lookup("odom", "base", 500_000_000)
    assert half.translation == pytest.approx([1.0, 0.0, 0.0])
    assert np.allclose(half.rotation, rotation_from_rpy(0, 0, math.pi / 4))
    inverse = tf.lookup("base", "odom", 500_000_000)
    assert np.allclose((inverse @ half).rotation, np.eye(3)) and np.allclose((inverse @ half).translation, 0)
    with pytest.raises(TransformLookupError, match=r"not at 2\.000 s"):
        tf.lookup("odom", "base", 2_000_000_000)
    tf.set_transform("map", "other", 0, (0, 0, 0), (0, 0, 0, 1), static=True)
    with pytest.raises(TransformLookupError, match="not connected"):
        tf.lookup("odom", "other", 0)
    with pytest.raises(TransformLookupError, match="'nowhere' is not in the TF tree"):
        tf.lookup("odom", "nowhere", 0)


def test_transform_buffer_forgets_old_dynamic_transforms():
    tf = TransformBuffer(cache_s=1.0)
    for second in range(5):
        tf.set_transform("odom", "base", second * 1_000_000_000, (second, 0, 0), (0, 0, 0, 1))
    with pytest.raises(TransformLookupError):
        tf.lookup("odom", "base", 0)
    assert tf.lookup("odom", "base", 3_500_000_000).translation[0] == pytest.approx(3.5)


def test_quaternions_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        q = q if q[3] >= 0 else -q
        assert np.allclose(quaternion_from_matrix(matrix_from_quaternion(q)), q, atol=1e-9)
    with pytest.raises(ValueError, match="not a rotation"):
        matrix_from_quaternion((0, 0, 0, 0))


def test_mount_refuses_nonsense():
    with pytest.raises(ValueError, match="above the floor"):
        CameraMount(0.0, (0.0, -1.0, 0.0))
    with pytest.raises(ValueError, match="unit"):
        CameraMount(1.0, (0.0, -2.0, 0.0))


def test_mount_source_over_tf2_and_over_a_bag_buffer_agree():
    """One MountSource whichever transport feeds it: a tf2_ros-like buffer (lookup_transform returning
    geometry_msgs/TransformStamped, as in a ROS install) and the ROS-free TransformBuffer (eval-bag)."""
    pytest.importorskip("geometry_msgs")
    from geometry_msgs.msg import TransformStamped
    from std_msgs.msg import Header

    from disdepth_core.scale.mount_source import MountSource
    from disdepth_ros.scale_inputs import tf2_lookup

    link = quaternion_from_matrix(rotation_from_rpy(math.radians(2.0), math.radians(9.0), 0.0))
    tf = TransformBuffer()
    tf.set_transform("base_footprint", "camera_link", 0, (0.1, 0.0, 0.55), link, static=True)
    tf.set_transform("camera_link", "cam_optical", 0, (0.0, 0.0, 0.0), OPTICAL_IN_LINK, static=True)

    class Tf2Buffer:  # what tf2_ros.Buffer.lookup_transform gives
        def __init__(self):
            self.asked = []

        def lookup_transform(self, target, source, time):
            self.asked.append((target, source, time.nanoseconds))
            rigid = tf.lookup(target, source, time.nanoseconds)
            msg = TransformStamped()
            msg.transform.translation.x, msg.transform.translation.y, msg.transform.translation.z = (
                rigid.translation
            )
            x, y, z, w = quaternion_from_matrix(rigid.rotation)
            (
                msg.transform.rotation.x,
                msg.transform.rotation.y,
                msg.transform.rotation.z,
                msg.transform.rotation.w,
            ) = (x, y, z, w)
            return msg

    header = Header(frame_id="cam_optical")
    header.stamp.sec, header.stamp.nanosec = 12, 500
    ros_buffer = Tf2Buffer()
    via_tf2 = MountSource("base_footprint", lookup=tf2_lookup(ros_buffer)).mount_for(header)
    via_bag = MountSource("base_footprint", lookup=tf.lookup).mount_for(header)
    expected = mount_from_angles(0.55, 9.0, 2.0)
    for mount in (via_tf2, via_bag):
        assert mount.height_m == pytest.approx(0.55) and np.allclose(mount.up, expected.up, atol=1e-9)
    assert ros_buffer.asked == [("base_footprint", "cam_optical", 12_000_000_500)]
    missing = MountSource("map", lookup=tf.lookup)
    assert (
        missing.mount_for(header) is None
        and "'map' is not in the TF tree" in missing.last_error
        and missing.failures == 1
    )
    measured = MountSource("base_footprint", parameters=expected, lookup=tf.lookup)
    assert measured.mount_for(header) is expected and measured.note.startswith("camera mount from parameters")
