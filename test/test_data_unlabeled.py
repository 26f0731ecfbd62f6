"""Unlabeled image sources: recursive image folders and video files written with cv2.VideoWriter."""

import cv2
import numpy as np
import pytest

from disdepth_core.data.unlabeled import ImageFolderDataset, VideoFramesDataset, iter_video_frames


def test_image_folder_recursive_sorted_with_k(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "b" / "deep").mkdir(parents=True)
    paths = [tmp_path / "a.png", tmp_path / "b" / "deep" / "c.PNG", tmp_path / "b" / "x.jpg"]
    images = [rng.integers(0, 256, (5, 7, 3), dtype=np.uint8) for _ in paths]
    for p, im in zip(paths, images, strict=True):
        cv2.imwrite(str(p), im[..., ::-1])
    (tmp_path / "notes.txt").write_text("not an image")
    k = np.eye(3)
    ds = ImageFolderDataset(tmp_path, K=k)
    assert [p.name for p in ds.paths] == ["a.png", "c.PNG", "x.jpg"]
    np.testing.assert_array_equal(ds[0]["image"], images[0])
    assert ds[1]["K"].dtype == np.float32 and "depth" not in ds[1]


def test_image_folder_errors(tmp_path):
    with pytest.raises(NotADirectoryError, match="nowhere"):
        ImageFolderDataset(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no images"):
        ImageFolderDataset(tmp_path)


@pytest.mark.parametrize("fourcc,suffix", [("MJPG", ".avi"), ("mp4v", ".mp4")])
def test_video_every_kth_frame(tmp_path, fourcc, suffix):
    path = tmp_path / f"clip{suffix}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10.0, (32, 24))
    assert writer.isOpened()
    for i in range(7):
        frame = np.full((24, 32, 3), 30 * i, np.uint8)  # grey level encodes the frame index
        writer.write(frame)
    writer.release()
    frames = list(iter_video_frames(path, every=3))
    assert [i for i, _ in frames] == [0, 3, 6]
    levels = [float(im.mean()) for _, im in frames]
    np.testing.assert_allclose(levels, [0, 90, 180], atol=8)
    assert frames[0][1].shape == (24, 32, 3)
    assert len(list(VideoFramesDataset(path, every=2))) == 4
    assert len(list(iter_video_frames(path, max_frames=2))) == 2


def test_video_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        next(iter_video_frames(tmp_path / "missing.mp4"))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(ValueError, match=r"bad\.mp4"):
        next(iter_video_frames(bad))
