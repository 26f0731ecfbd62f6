"""disdepth_ros.conversions / outputs / colorize: message building without a running node."""

import struct

import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointField
from std_msgs.msg import Header

from disdepth_core.geometry import CameraIntrinsics, depth_to_points
from disdepth_core.image_encodings import decode_depth
from disdepth_core.runtime.image_ops import invalidate
from disdepth_core.visualize.colorize import colorize_depth
from disdepth_ros.conversions import (
    camera_info_to_intrinsics,
    compressed_msg_to_rgb,
    depth_msg_to_array,
    depth_to_image_msg,
    depth_to_mm_image_msg,
    image_msg_to_rgb,
    points_to_cloud_msg,
    scaled_camera_info,
)
from disdepth_ros.outputs import OutputSettings, build_cloud, build_image_outputs, camera_info_for_image

H, W = 12, 16


def _header() -> Header:
    header = Header(frame_id="cam_optical")
    header.stamp.sec, header.stamp.nanosec = 42, 7
    return header


def _camera_info(width=W, height=H, p_scale=None) -> CameraInfo:
    info = CameraInfo(width=width, height=height, distortion_model="plumb_bob", d=[0.1, -0.2, 0.0, 0.0, 0.01])
    info.k = [20.0, 0.0, 7.5, 0.0, 21.0, 5.5, 0.0, 0.0, 1.0]
    info.r = [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0]
    if p_scale is not None:
        info.p = [20.0 * p_scale, 0.0, 8.0, -3.0, 0.0, 21.0 * p_scale, 6.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


def test_image_msg_roundtrip_and_errors():
    rgb = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    msg = Image(height=H, width=W, encoding="bgr8", step=W * 3)
    msg.data = rgb[..., ::-1].tobytes()
    np.testing.assert_array_equal(image_msg_to_rgb(msg), rgb)
    msg.encoding = "definitely_not_an_encoding"
    with pytest.raises(ValueError, match="unsupported"):
        image_msg_to_rgb(msg)
    msg.encoding, msg.data = "bgr8", bytes(10)
    with pytest.raises(ValueError, match="truncated"):
        image_msg_to_rgb(msg)


def test_compressed_msg():
    import cv2

    rgb = np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8)
    msg = CompressedImage(format="png")
    msg.data = cv2.imencode(".png", rgb[..., ::-1].copy())[1].tobytes()
    np.testing.assert_array_equal(compressed_msg_to_rgb(msg), rgb)
    msg.data = b"garbage"
    with pytest.raises(ValueError, match="decode"):
        compressed_msg_to_rgb(msg)


def test_depth_messages():
    depth = np.array([[1.2345, np.nan], [0.0, 70.0]], np.float32)
    header = _header()
    msg = depth_to_image_msg(depth, header)
    assert (msg.encoding, msg.step, msg.is_bigendian, msg.header.frame_id) == ("32FC1", 8, 0, "cam_optical")
    restored = np.frombuffer(bytes(msg.data), np.float32).reshape(2, 2)
    np.testing.assert_array_equal(restored, depth)
    mm = depth_to_mm_image_msg(depth, header)
    assert mm.encoding == "16UC1" and mm.step == 4
    np.testing.assert_array_equal(np.frombuffer(bytes(mm.data), np.uint16).reshape(2, 2), [[1234, 0], [0, 0]])
    np.testing.assert_allclose(
        decode_depth("16UC1", 2, 2, 4, bytes(mm.data), False), [[1.234, np.nan], [np.nan, np.nan]], rtol=1e-6
    )


def test_cloud_layout_matches_pcl():
    rng = np.random.default_rng(2)
    points = rng.normal(size=(3, 4, 3)).astype(np.float32)
    points[1, 2] = np.nan
    rgb = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    cloud = points_to_cloud_msg(points, _header())
    assert (cloud.height, cloud.width, cloud.point_step, cloud.row_step) == (3, 4, 16, 64)
    assert not cloud.is_dense and not cloud.is_bigendian
    assert [(f.name, f.offset, f.datatype, f.count) for f in cloud.fields] == [
        ("x", 0, PointField.FLOAT32, 1),
        ("y", 4, PointField.FLOAT32, 1),
        ("z", 8, PointField.FLOAT32, 1),
    ]
    data = bytes(cloud.data)
    assert len(data) == 3 * 4 * 16
    x, y, z = struct.unpack_from("<fff", data, (0 * 4 + 3) * 16)
    assert (x, y, z) == tuple(points[0, 3].tolist())
    assert all(np.isnan(struct.unpack_from("<fff", data, (1 * 4 + 2) * 16)))

    cloud = points_to_cloud_msg(points, _header(), rgb)
    assert (cloud.point_step, cloud.row_step) == (32, 128)
    assert [(f.name, f.offset) for f in cloud.fields][-1] == ("rgb", 16)
    data = bytes(cloud.data)
    offset = (2 * 4 + 1) * 32
    assert struct.unpack_from("<fff", data, offset) == tuple(points[2, 1].tolist())
    (packed,) = struct.unpack_from("<I", data, offset + 16)
    assert packed == (int(rgb[2, 1, 0]) << 16) | (int(rgb[2, 1, 1]) << 8) | int(rgb[2, 1, 2])
    with pytest.raises(ValueError):
        points_to_cloud_msg(points[..., :2], _header())
    with pytest.raises(ValueError):
        points_to_cloud_msg(points, _header(), rgb[:2])


def test_camera_info_intrinsics_p_over_k():
    assert camera_info_to_intrinsics(_camera_info()) == CameraIntrinsics(20.0, 21.0, 7.5, 5.5, W, H)
    assert camera_info_to_intrinsics(_camera_info(p_scale=1.5)) == CameraIntrinsics(
        30.0, 31.5, 8.0, 6.0, W, H
    )
    bad = _camera_info()
    bad.k[0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        camera_info_to_intrinsics(bad)
    with pytest.raises(ValueError, match="all-zero"):
        camera_info_to_intrinsics(CameraInfo(width=W, height=H))
    with pytest.raises(ValueError, match="zero image size"):
        camera_info_to_intrinsics(_camera_info(width=0))


def test_scaled_camera_info():
    info = _camera_info(p_scale=1.0)
    out = scaled_camera_info(info, W * 2, H * 2)
    assert (out.width, out.height) == (W * 2, H * 2)
    assert list(out.d) == list(info.d) and out.distortion_model == "plumb_bob"
    expected = CameraIntrinsics.from_K(info.k, W, H).scaled(W * 2, H * 2)
    assert CameraIntrinsics.from_K(out.k, W * 2, H * 2) == pytest.approx(expected)
    np.testing.assert_allclose(out.p.reshape(3, 4)[0], [40.0, 0.0, 16.5, -6.0])
    np.testing.assert_allclose(out.p.reshape(3, 4)[1], [0.0, 42.0, 12.5, 0.0])
    np.testing.assert_array_equal(out.p.reshape(3, 4)[2], [0, 0, 1, 0])
    np.testing.assert_array_equal(out.r, info.r)


def test_camera_info_for_image_keeps_or_scales():
    header = _header()
    same, intr, resized = camera_info_for_image(_camera_info(), header, W, H)
    assert not resized and same.header is header and intr == CameraIntrinsics(20.0, 21.0, 7.5, 5.5, W, H)
    bigger, intr, resized = camera_info_for_image(_camera_info(), header, W * 2, H * 2)
    assert resized and (bigger.width, intr.width) == (W * 2, W * 2) and intr.fx == pytest.approx(40.0)


def test_depth_limits_and_colorize():
    depth = np.array([[0.05, 1.0], [np.nan, 20.0]], np.float32)
    limited = invalidate(depth.copy(), 0.1, 10.0)
    np.testing.assert_array_equal(np.isnan(limited), [[True, False], [True, True]])
    bgr = colorize_depth(limited, 0.1, 10.0, "turbo")
    assert bgr.shape == (2, 2, 3) and bgr.dtype == np.uint8
    assert bgr[1, 0].tolist() == [0, 0, 0] and bgr[0, 1].any()
    with pytest.raises(ValueError, match="colormap"):
        colorize_depth(limited, 0.1, 10.0, "nope")


def test_build_image_outputs_and_cloud():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    depth = rng.uniform(0.5, 5.0, (H, W)).astype(np.float32)
    uncertainty = np.full((H, W), 0.25, np.float32)
    header = _header()
    settings = OutputSettings(
        min_depth=0.1,
        max_depth=4.0,
        publish_depth_mm=True,
        publish_uncertainty=True,
        points_rgb=True,
        cloud_stride=2,
        max_range=3.0,
    )
    limited = invalidate(depth.copy(), 0.1, 4.0)
    info, intrinsics, resized = camera_info_for_image(_camera_info(W // 2, H // 2), header, W, H)
    assert resized
    out = build_image_outputs(limited, uncertainty, header, (info, intrinsics), settings)
    out["points"] = build_cloud(rgb, limited, header, (info, intrinsics), settings)
    assert set(out) == {"depth", "depth_mm", "uncertainty", "colorized", "camera_info", "points"}
    assert all(m.header is header for m in out.values())
    assert (out["camera_info"].width, out["camera_info"].height) == (W, H)
    cloud = out["points"]
    assert (cloud.height, cloud.width, cloud.point_step) == (H // 2, W // 2, 32)
    expected = depth_to_points(limited, camera_info_to_intrinsics(out["camera_info"]), 2, 3.0)
    got = np.frombuffer(bytes(cloud.data), np.float32).reshape(H // 2, W // 2, 8)[..., :3]
    np.testing.assert_array_equal(got, expected)
    unc = np.frombuffer(bytes(out["uncertainty"].data), np.float32).reshape(H, W)
    np.testing.assert_array_equal(np.isnan(unc), np.isnan(limited))
    assert out["colorized"].encoding == "bgr8"

    lean_settings = OutputSettings(min_depth=0.1, max_depth=4.0)
    assert set(build_image_outputs(limited, None, header, None, lean_settings, ())) == {"depth"}
    assert build_cloud(rgb, limited, header, None, settings) is None  # no camera_info
    assert build_cloud(rgb, limited, header, (info, intrinsics), settings, ()) is None  # unsubscribed


def test_depth_msg_to_array_reads_millimetres_and_refuses_oversized_images():
    mm = np.array([[0, 1500], [250, 65535]], np.uint16)
    msg = Image(height=2, width=2, encoding="16UC1", step=4, is_bigendian=0)
    msg.data = mm.tobytes()
    np.testing.assert_allclose(depth_msg_to_array(msg), [[np.nan, 1.5], [0.25, 65.535]], rtol=1e-6)
    with pytest.raises(ValueError, match="pixels"):
        depth_msg_to_array(msg, max_pixels=3)


def test_depth_in_a_message_array_is_published_without_a_copy():
    from disdepth_ros.conversions import depth_msg_to_array, message_array

    header = Header(frame_id="cam")
    depth = message_array((3, 4))
    depth[:] = np.arange(12, dtype=np.float32).reshape(3, 4)
    depth[0, 0] = np.nan
    msg = depth_to_image_msg(depth, header)
    assert (msg.height, msg.width, msg.step, msg.encoding) == (3, 4, 16, "32FC1")
    assert np.shares_memory(np.frombuffer(msg.data, np.float32), depth)  # the message holds the array
    np.testing.assert_array_equal(depth_msg_to_array(msg), depth)
    copied = depth_to_image_msg(depth.copy(), header)
    assert bytes(copied.data) == bytes(msg.data)
    for part in (depth[1:], depth[:, :2], depth[::-1]):  # a part of one is copied, in its own layout
        msg = depth_to_image_msg(part, header)
        assert not np.shares_memory(np.frombuffer(msg.data, np.float32), depth)
        np.testing.assert_array_equal(depth_msg_to_array(msg), part)
