"""Augmentations keep image, depth and K consistent; the synthetic dataset feeds a DataLoader."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from disdepth_core.data.augment import Augment, color_jitter, crop, hflip, random_crop, rotate
from disdepth_core.data.synthetic import render_scene
from disdepth_core.data.synthetic_dataset import SyntheticDepthDataset


@pytest.fixture(scope="module")
def sample():
    return render_scene(2, 40, 56, "room")


def _project(k, point):
    u = k[0, 0] * point[0] / point[2] + k[0, 2]
    v = k[1, 1] * point[1] / point[2] + k[1, 2]
    return u, v


def test_hflip_maps_projection(sample):
    flipped = hflip(sample)
    np.testing.assert_array_equal(flipped["image"][:, 0], sample["image"][:, -1])
    np.testing.assert_array_equal(flipped["depth"][:, 0], sample["depth"][:, -1])
    # a 3-D point mirrored in x lands on the mirrored pixel
    u, v = _project(sample["K"], (0.3, 0.1, 2.0))
    uf, vf = _project(flipped["K"], (-0.3, 0.1, 2.0))
    assert uf == pytest.approx(55 - u) and vf == pytest.approx(v)


def test_crop_shifts_principal_point(sample):
    out = crop(sample, 5, 7, 20, 30)
    np.testing.assert_array_equal(out["depth"], sample["depth"][5:25, 7:37])
    np.testing.assert_allclose(out["K"][:2, 2], sample["K"][:2, 2] - [7, 5])
    with pytest.raises(ValueError, match="does not fit"):
        crop(sample, 30, 0, 20, 10)
    rc = random_crop(sample, 16, 32, np.random.default_rng(0))
    assert rc["image"].shape == (16, 32, 3) and rc["depth"].shape == (16, 32)


def test_rotation_keeps_depth_values_and_marks_borders_invalid(sample):
    out = rotate(sample, 10.0)
    valid = out["depth"] > 0
    assert 0.6 < valid.mean() < 1.0  # corners uncovered
    assert set(np.unique(out["depth"][valid])) <= set(np.unique(sample["depth"]))  # nearest neighbour
    np.testing.assert_array_equal(out["K"], sample["K"])
    np.testing.assert_array_equal(rotate(sample, 0.0)["depth"], sample["depth"])


def test_color_jitter_changes_image_only(sample):
    rng = np.random.default_rng(0)
    out = color_jitter(sample["image"], rng, brightness=0.3)
    assert out.dtype == np.uint8 and out.shape == sample["image"].shape
    assert not np.array_equal(out, sample["image"])
    same = color_jitter(sample["image"], rng, 0, 0, 0, 0, 0)
    assert np.abs(same.astype(int) - sample["image"]).max() <= 1


def test_augment_pipeline(sample):
    aug = Augment(crop_size=(32, 48), hflip_prob=1.0, color_prob=1.0)
    out = aug(sample, np.random.default_rng(3))
    assert out["image"].shape == (32, 48, 3) and out["depth"].shape == (32, 48)
    assert out["depth"].dtype == np.float32 and out["K"].dtype == np.float32


def test_synthetic_dataset_in_a_dataloader():
    ds = SyntheticDepthDataset(
        6, 32, 48, seed=1, kinds=("room", "street"), augment=Augment(crop_size=(32, 32))
    )
    torch.manual_seed(0)
    batch = next(iter(DataLoader(ds, batch_size=3)))
    assert batch["image"].shape == (3, 32, 32, 3) and batch["image"].dtype == torch.uint8
    assert batch["depth"].shape == (3, 32, 32) and batch["K"].shape == (3, 3, 3)
    plain = SyntheticDepthDataset(6, 32, 48, seed=1, kinds=("room", "street"))
    np.testing.assert_array_equal(plain[1]["depth"], render_scene(1_000_003 + 1, 32, 48, "street")["depth"])
    with pytest.raises(IndexError):
        plain[6]
    with pytest.raises(ValueError, match="kinds"):
        SyntheticDepthDataset(1, 8, 8, kinds=("forest",))


def test_synthetic_dataset_cache_roundtrip_and_reproducible_photometric(tmp_path, monkeypatch):
    from disdepth_core.data import synthetic_dataset
    from disdepth_core.data.photometric import Photometric

    ds = SyntheticDepthDataset(3, 24, 32, seed=2, kinds=("room", "street"), cache_dir=tmp_path)
    first = [ds[i] for i in range(3)]
    path = ds.cache_path(1)
    assert path.is_file() and path.name == f"{2 * 1_000_003 + 1}.npz"
    assert (
        "r2-" in path.parent.name
        and ds.textures.fingerprint in path.parent.name
        and "street" in path.parent.name
    )
    assert not list(tmp_path.rglob("*.tmp"))  # written atomically, no temporaries left

    def no_render(*args, **kwargs):
        raise AssertionError("a cached sample was rendered again")

    monkeypatch.setattr(synthetic_dataset, "render_scene", no_render)
    cached = SyntheticDepthDataset(3, 24, 32, seed=2, kinds=("room", "street"), cache_dir=tmp_path)
    for a, b in zip(first, (cached[i] for i in range(3)), strict=True):
        for key in ("image", "depth", "K"):
            np.testing.assert_array_equal(a[key], b[key])
    monkeypatch.undo()
    path.write_bytes(b"not an npz")  # a damaged cache entry is rendered again and replaced
    np.testing.assert_array_equal(cached[1]["depth"], first[1]["depth"])
    assert np.load(path)["depth"].shape == (24, 32)

    aug = SyntheticDepthDataset(3, 24, 32, seed=2, kinds=("room", "street"), photometric=Photometric())
    again = SyntheticDepthDataset(3, 24, 32, seed=2, kinds=("room", "street"), photometric=Photometric())
    np.testing.assert_array_equal(aug[0]["image"], again[0]["image"])
    np.testing.assert_array_equal(aug[0]["depth"], first[0]["depth"])  # geometry untouched
    assert not np.array_equal(aug[0]["image"], first[0]["image"])


def test_synthetic_dataset_names_a_missing_texture_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="real_unlabeled"):
        SyntheticDepthDataset(1, 8, 8, texture_groups=("rtabmap",), real_unlabeled=tmp_path / "absent")
