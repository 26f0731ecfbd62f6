"""Rosbag image reader on real bags written with rosbags (sqlite3 and mcap, raw and compressed)."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from disdepth_core.bags import BagReadError, BagTopicError, iter_bag_images, read_camera_k
from disdepth_core.data.bag_images import BagImageDataset
from disdepth_core.data.synthetic import render_sequence

TS = get_typestore(Stores.ROS2_JAZZY)
Image = TS.types["sensor_msgs/msg/Image"]
CompressedImage = TS.types["sensor_msgs/msg/CompressedImage"]
CameraInfo = TS.types["sensor_msgs/msg/CameraInfo"]
Header = TS.types["std_msgs/msg/Header"]
Time = TS.types["builtin_interfaces/msg/Time"]
RegionOfInterest = TS.types["sensor_msgs/msg/RegionOfInterest"]


def _header(ns: int) -> object:
    return Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id="camera_optical")


def _write_bag(path: Path, storage: StoragePlugin, frames: list) -> Path:
    with Writer(path, version=Writer.VERSION_LATEST, storage_plugin=storage) as writer:
        raw = writer.add_connection("/cam/image_raw", "sensor_msgs/msg/Image", typestore=TS)
        comp = writer.add_connection(
            "/cam/image_raw/compressed", "sensor_msgs/msg/CompressedImage", typestore=TS
        )
        info = writer.add_connection("/cam/camera_info", "sensor_msgs/msg/CameraInfo", typestore=TS)
        for i, frame in enumerate(frames):
            stamp = 1_700_000_000_000_000_000 + i * 100_000_000
            bgr = np.ascontiguousarray(frame["image"][..., ::-1])
            h, w = bgr.shape[:2]
            msg = Image(_header(stamp), h, w, "bgr8", 0, w * 3, bgr.reshape(-1))
            writer.write(raw, stamp + 5, TS.serialize_cdr(msg, "sensor_msgs/msg/Image"))
            _, png = cv2.imencode(".png", bgr)
            cmsg = CompressedImage(_header(stamp), "png", png.reshape(-1))
            writer.write(comp, stamp + 6, TS.serialize_cdr(cmsg, "sensor_msgs/msg/CompressedImage"))
        k = frames[0]["K"].astype(np.float64)
        p = np.zeros((3, 4))
        p[:, :3] = k
        roi = RegionOfInterest(0, 0, 0, 0, False)
        cinfo = CameraInfo(
            _header(1),
            h,
            w,
            "plumb_bob",
            np.zeros(5),
            k.reshape(-1),
            np.eye(3).reshape(-1),
            p.reshape(-1),
            0,
            0,
            roi,
        )
        writer.write(info, 1, TS.serialize_cdr(cinfo, "sensor_msgs/msg/CameraInfo"))
    return path


@pytest.fixture(scope="module")
def frames():
    return render_sequence(1, 4, 24, 32, "room")


@pytest.mark.parametrize("storage", [StoragePlugin.SQLITE3, StoragePlugin.MCAP])
@pytest.mark.parametrize("topic", ["/cam/image_raw", "/cam/image_raw/compressed"])
def test_reads_raw_and_compressed_images(tmp_path, frames, storage, topic):
    bag = _write_bag(tmp_path / "bag", storage, frames)
    items = list(iter_bag_images(bag, topic))
    assert [s for s, _ in items] == [1_700_000_000_000_000_000 + i * 100_000_000 for i in range(4)]
    for (_, image), frame in zip(items, frames, strict=True):
        np.testing.assert_array_equal(image, frame["image"])  # bgr8 and PNG are lossless
    assert len(list(iter_bag_images(bag, topic, every=3))) == 2


def test_dataset_with_camera_info(tmp_path, frames):
    bag = _write_bag(tmp_path / "bag", StoragePlugin.MCAP, frames)
    np.testing.assert_allclose(read_camera_k(bag, "/cam/camera_info"), frames[0]["K"], rtol=1e-6)
    samples = list(BagImageDataset(bag, "/cam/image_raw", camera_info_topic="/cam/camera_info"))
    assert len(samples) == 4 and "depth" not in samples[0]
    np.testing.assert_allclose(samples[0]["K"], frames[0]["K"], rtol=1e-6)


def test_missing_topic_lists_the_bag_topics(tmp_path, frames):
    bag = _write_bag(tmp_path / "bag", StoragePlugin.SQLITE3, frames[:1])
    with pytest.raises(BagTopicError, match=r"/camera/color.*\n.*/cam/camera_info") as info:
        next(iter_bag_images(bag, "/camera/color"))
    assert "/cam/image_raw/compressed" in str(info.value)
    with pytest.raises(BagTopicError, match="expected"):
        next(iter_bag_images(bag, "/cam/camera_info"))


def test_missing_and_corrupt_bags_name_the_file(tmp_path, frames):
    with pytest.raises(FileNotFoundError, match="nope"):
        next(iter_bag_images(tmp_path / "nope.mcap", "/x"))
    bag = _write_bag(tmp_path / "bag", StoragePlugin.MCAP, frames)
    mcap = next(bag.glob("*.mcap"))
    data = mcap.read_bytes()
    truncated = tmp_path / "truncated.mcap"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(BagReadError, match=r"truncated\.mcap.*mcap recover"):
        list(iter_bag_images(truncated, "/cam/image_raw"))
    db = tmp_path / "bag_sql"
    _write_bag(db, StoragePlugin.SQLITE3, frames)
    db3 = next(db.glob("*.db3"))
    raw = bytearray(db3.read_bytes())
    raw[len(raw) // 2 :] = b"\xff" * (len(raw) - len(raw) // 2)
    db3.write_bytes(bytes(raw))
    with pytest.raises(BagReadError, match=r"bag_sql.*sqlite3") as err:
        list(iter_bag_images(db, "/cam/image_raw"))
    assert err.value.messages_read == 0
