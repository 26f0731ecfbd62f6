"""Datasets named by a training config: synthetic, unlabeled folders and videos, clear errors; batching."""

import cv2
import numpy as np
import pytest
import torch

from disdepth_core.train.batches import EpochBatches, PreparedDataset, fit_to_size
from disdepth_core.train.config import DataConfig, DatasetConfig, UnlabeledConfig
from disdepth_core.train.datasets import build_labeled, build_unlabeled, open_kitti, open_nyu

DATA = DataConfig(height=64, width=96)


def _images(n, h=48, w=80):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_unlabeled_folder_and_video(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, image in enumerate(_images(3)):
        cv2.imwrite(str(folder / f"{i}.png"), image)
    samples = build_unlabeled(UnlabeledConfig(kind="folder", path=str(folder)), DATA)
    assert len(samples) == 3 and samples[0]["image"].shape == (48, 80, 3)

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (80, 48))
    for image in _images(6):
        writer.write(image)
    writer.release()
    spec = UnlabeledConfig(kind="video", path=str(video), frame_step=2)
    frames = build_unlabeled(spec, DATA)
    assert len(frames) == 3 and frames[0]["image"].shape == (64, 96, 3)


def test_unlabeled_none_and_errors(tmp_path):
    assert build_unlabeled(UnlabeledConfig(kind="none"), DATA) is None
    with pytest.raises(ValueError, match="topic"):
        build_unlabeled(UnlabeledConfig(kind="rosbag", path=str(tmp_path)), DATA)
    with pytest.raises(FileNotFoundError, match=r"nyu_depth_v2_labeled\.mat"):
        open_nyu(DatasetConfig(kind="nyu", root=str(tmp_path), split="test"), 64, 96, False)
    with pytest.raises(ValueError, match="list file"):
        open_kitti(DatasetConfig(kind="kitti", root=str(tmp_path)), 64, 96, False)


def test_synthetic_truncation_and_prepared_items():
    samples = build_labeled(DatasetConfig(kind="synthetic", size=5, max_samples=3), DATA)
    assert len(samples) == 3
    item = PreparedDataset(samples, 64, 96, train=True, seed=0)[(1, 4)]
    assert item["image"].shape == (3, 64, 96) and item["depth"].shape == (1, 64, 96)
    again = PreparedDataset(samples, 64, 96, train=True, seed=0)[(1, 4)]
    assert torch.equal(item["image"], again["image"]), "augmentation depends only on (seed, epoch, index)"


def test_fit_to_size_keeps_aspect_and_centres():
    image = np.zeros((100, 300, 3), np.uint8)
    image[:, 140:160] = 255
    depth = np.ones((100, 300), np.float32)
    out, out_depth = fit_to_size(image, depth, 64, 96, None)
    assert out.shape == (64, 96, 3) and out_depth.shape == (64, 96)
    assert out[:, 48].mean() > 200, "centre crop keeps the centre column"


def test_epoch_batches_are_deterministic_sharded_and_skippable():
    samples = build_labeled(DatasetConfig(kind="synthetic", size=8), DATA)
    data = PreparedDataset(samples, 64, 96, train=True, seed=3)
    unlabeled = PreparedDataset(_ListSamples(_images(3)), 64, 96, True, 3, labeled=False)
    ranks = [
        EpochBatches(data, 2, 3, rank, 2, unlabeled=unlabeled, unlabeled_batch_size=2) for rank in (0, 1)
    ]
    epoch0 = [[b["index"].tolist() for b in r.epoch(0)] for r in ranks]
    seen = [{i for batch in rank for i in batch} for rank in epoch0]
    assert len(ranks[0]) == 2 and not seen[0] & seen[1], "ranks get disjoint shards"
    assert [b["index"].tolist() for b in ranks[0].epoch(1)] != epoch0[0], "a new order each epoch"
    skipped = list(ranks[0].epoch(0, skip=1))
    assert [b["index"].tolist() for b in skipped] == epoch0[0][1:]
    assert skipped[0]["unlabeled_image"].shape == (2, 3, 64, 96) and len(skipped[0]["unlabeled_key"]) == 2


class _ListSamples:
    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return {"image": self.images[index]}


def test_synthetic_training_set_gets_camera_effects_and_textures_from_the_config():
    from disdepth_core.data.photometric import Photometric
    from disdepth_core.train.config import DataConfig, DatasetConfig
    from disdepth_core.train.datasets import build_labeled

    pytest.importorskip("skimage", reason="scikit-image not installed")
    spec = DatasetConfig(size=4, kinds=["room"], photometric=True, textures=["scikit-image"])
    samples = build_labeled(spec, DataConfig(height=32, width=48))
    assert isinstance(samples.photometric, Photometric) and samples.texture_groups == ("scikit-image",)
    assert samples[0]["image"].shape == (32, 48, 3)
    plain = build_labeled(DatasetConfig(size=4), DataConfig(height=32, width=48))
    assert plain.photometric is None and plain.texture_groups is None
