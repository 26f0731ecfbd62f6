"""make-sample-bag: a real ROS 2 bag (rosbags) with the renderer's images, intrinsics and depth in mm."""

import numpy as np
import pytest

pytest.importorskip("rclpy")

from disdepth_core.bags import BagError, BagWriter, open_bag
from disdepth_core.cli.main import main
from disdepth_core.data.synthetic import render_sequence
from disdepth_core.image_encodings import decode_compressed
from disdepth_ros.sample_bag import FRAME_ID, TOPICS, SampleBagSpec, write_sample_bag

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
    assert set(topics) == {TOPICS["image"], TOPICS["camera_info"], TOPICS["depth"]}
    frames = render_sequence(3, 4, 48, 64, "room")
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
    assert sum(len(v) for v in _messages(out).values()) == 9
    assert main(["make-sample-bag", str(tmp_path / "x"), "--frames", "0"]) == 2
    assert "frames must be >= 1" in capsys.readouterr().err
