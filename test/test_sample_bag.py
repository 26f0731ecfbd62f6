"""make-sample-bag: a real ROS 2 bag (rosbags) with the renderer's images, intrinsics and depth in mm."""

import numpy as np
import pytest

pytest.importorskip("rclpy")

from disdepth_core.bags import BagError, BagWriter, open_bag
from disdepth_core.bags.tf import read_tf
from disdepth_core.cli.main import main
from disdepth_core.data.synthetic import intrinsics_matrix, make_scene, render_sequence, render_view
from disdepth_core.data.synthetic.primitives import CameraPose
from disdepth_core.image_encodings import decode_compressed
from disdepth_core.scale import TransformBuffer, mount_from_transform
from disdepth_ros.commands.sample_bag.recording import (
    FRAME_ID,
    TOPICS,
    SampleBagSpec,
    robot_mount,
    write_sample_bag,
)

SPEC = {"frames": 4, "height": 48, "width": 64, "seed": 3}


def _messages(path):
    with open_bag(path) as reader:
        out = {}
        for conn, t, raw in reader.messages():
            out.setdefault(conn.topic, []).append((t, conn.msgtype, reader.deserialize(raw, conn.msgtype)))
        return out


def test_raw_mcap_bag_matches_the_renderer(tmp_path):
    spec = SampleBagSpec(**SPEC, storage="mcap", rate_hz=20.0)
    path = write_sample_bag(tmp_path / "bag", spec, progress=False)
    assert (path / "bag.mcap").is_file() and (path / "metadata.yaml").is_file()
    topics = _messages(path)
    assert set(topics) == {TOPICS["image"], TOPICS["camera_info"], TOPICS["depth"], "/tf", "/tf_static"}
    frames = _views_from_tf(path, spec)
    for i, frame in enumerate(frames):
        t_img, type_img, image = topics[TOPICS["image"]][i]
        _, type_depth, depth = topics[TOPICS["depth"]][i]
        _, _, info = topics[TOPICS["camera_info"]][i]
        assert type_img == type_depth == "sensor_msgs/msg/Image"
        assert t_img == spec.stamp_ns(i) == image.header.stamp.sec * 10**9 + image.header.stamp.nanosec
        assert image.header.frame_id == depth.header.frame_id == info.header.frame_id == FRAME_ID
        assert image.encoding == "rgb8" and depth.encoding == "16UC1"
        np.testing.assert_array_equal(np.asarray(image.data).reshape(48, 64, 3), frame["image"])
        expected_mm = np.rint(frame["depth"] * 1000.0).astype(np.uint16)  # renderer: 0 = invalid, as REP 118
        np.testing.assert_array_equal(np.asarray(depth.data).view("<u2").reshape(48, 64), expected_mm)
        np.testing.assert_allclose(info.k.reshape(3, 3), frame["K"], rtol=1e-6)
        np.testing.assert_allclose(info.p.reshape(3, 4)[:, :3], frame["K"], rtol=1e-6)
    stamps = [t for t, _, _ in topics[TOPICS["image"]]]
    assert np.allclose(np.diff(stamps), 0.05e9, atol=1)


def _views_from_tf(path, spec):
    """The renderer's views from the camera poses the bag's TF gives (odom <- camera_optical_frame)."""
    scene, _, (fx, cx, cy) = make_scene(spec.seed, spec.kind, spec.frames)
    k = intrinsics_matrix(fx, cx, cy, spec.height, spec.width)
    tf = TransformBuffer(cache_s=None)
    with open_bag(path) as reader:
        assert read_tf(reader, path, tf) == 2 + spec.frames
    views = []
    for i in range(spec.frames):
        pose = tf.lookup("odom", FRAME_ID, spec.stamp_ns(i))
        views.append(
            render_view(scene, CameraPose(pose.translation, pose.rotation), k, spec.height, spec.width)
        )
    return views


def test_bag_records_a_steady_robot_mount(tmp_path):
    """The camera is bolted to the robot: base_footprint <- camera is the same at every frame and is
    what robot_mount() says; the robot itself drives (odom <- base_footprint changes)."""
    for seed, kind in ((3, "room"), (5, "street")):
        spec = SampleBagSpec(frames=5, height=32, width=48, seed=seed, kind=kind)
        path = write_sample_bag(tmp_path / f"bag{seed}", spec, progress=False)
        tf = TransformBuffer(cache_s=None)
        with open_bag(path) as reader:
            read_tf(reader, path, tf)
        mounts = [
            mount_from_transform(tf.lookup("base_footprint", FRAME_ID, spec.stamp_ns(i)), "tf")
            for i in range(5)
        ]
        expected = robot_mount(spec)
        for mount in mounts:
            assert mount.height_m == pytest.approx(expected.height_m) and np.allclose(mount.up, expected.up)
        bases = [tf.lookup("odom", "base_footprint", spec.stamp_ns(i)).translation for i in (0, 4)]
        assert np.linalg.norm(bases[1] - bases[0]) > 0.1
    first = render_sequence(3, 1, 32, 48, "room")[0]["image"]  # frame 0 is the renderer's own first view
    spec = SampleBagSpec(frames=1, height=32, width=48, seed=3)
    image = _messages(write_sample_bag(tmp_path / "one", spec, progress=False))[TOPICS["image"]][0][2]
    np.testing.assert_array_equal(np.asarray(image.data).reshape(32, 48, 3), first)


def test_compressed_sqlite3_bag(tmp_path):
    spec = SampleBagSpec(**SPEC, storage="sqlite3", compressed=True)
    path = write_sample_bag(tmp_path / "bag", spec, progress=False)
    assert (path / "bag.db3").is_file()
    topics = _messages(path)
    assert TOPICS["compressed"] in topics and TOPICS["image"] not in topics
    _, msgtype, msg = topics[TOPICS["compressed"]][0]
    assert msgtype == "sensor_msgs/msg/CompressedImage" and "jpeg" in msg.format
    rgb = decode_compressed(msg.format, msg.data.tobytes())
    expected = render_sequence(3, 4, 48, 64, "room")[0]["image"]
    assert rgb.shape == expected.shape
    assert np.abs(rgb.astype(int) - expected).mean() < 12  # jpeg quality 90


def test_existing_output_is_refused_and_failures_leave_nothing(tmp_path):
    target = tmp_path / "bag"
    target.mkdir()
    with pytest.raises(BagError, match="already exists"):
        write_sample_bag(target, SampleBagSpec(**SPEC), progress=False)
    other = tmp_path / "other"
    with pytest.raises(RuntimeError, match="boom"), BagWriter(other, "mcap"):
        raise RuntimeError("boom")
    assert not other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bag"]  # no temporary directory left behind


def test_cli(tmp_path, capsys):
    out = tmp_path / "cli_bag"
    args = [
        "make-sample-bag",
        str(out),
        "--frames",
        "3",
        "--height",
        "32",
        "--width",
        "48",
        "--storage",
        "sqlite3",
    ]
    assert main([*args, "--compressed"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert sum(len(v) for v in _messages(out).values()) == 3 * 4 + 1  # image, info, depth, /tf; /tf_static
    assert main(["make-sample-bag", str(tmp_path / "x"), "--frames", "0"]) == 2
    assert "frames must be >= 1" in capsys.readouterr().err
