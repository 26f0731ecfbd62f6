"""NYU loaders on tiny files in the real formats: a v7.3 (HDF5) labeled .mat, a v5 splits.mat, BTS lists."""

import struct
import zlib

import cv2
import h5py
import numpy as np
import pytest

from disdepth_core.data.matfile import load_mat_arrays
from disdepth_core.data.nyu import (
    NYU_FX,
    NYUListDataset,
    NYUv2LabeledDataset,
    nyu_intrinsics,
    read_nyu_splits,
)

H, W, N = 6, 8, 5


def _images_and_depths():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (N, H, W, 3), dtype=np.uint8)
    depths = rng.uniform(0.5, 9.0, (N, H, W)).astype(np.float32)
    return images, depths


def _write_labeled_mat(path):
    images, depths = _images_and_depths()
    with h5py.File(path, "w") as f:  # MATLAB v7.3 stores column-major: HDF5 sees (N, 3, W, H)
        f["images"] = images.transpose(0, 3, 2, 1)
        f["depths"] = depths.transpose(0, 2, 1)
    return images, depths


def _v5_element(mtype, payload):
    pad = -len(payload) % 8
    return struct.pack("<II", mtype, len(payload)) + payload + b"\0" * pad


def _v5_matrix(name, values):
    column = np.asarray(values, np.float64).reshape(-1, 1)
    body = (
        _v5_element(6, struct.pack("<II", 6, 0))  # array flags: class mxDOUBLE
        + _v5_element(5, struct.pack("<ii", *column.shape))
        + _v5_element(1, name.encode())
        + _v5_element(9, column.tobytes(order="F"))
    )
    return _v5_element(14, body)


def _write_v5_splits(path, train, test, compress):
    header = b"MATLAB 5.0 MAT-file, test".ljust(116, b" ") + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM"
    body = b""
    for name, values in (("trainNdxs", train), ("testNdxs", test)):
        element = _v5_matrix(name, values)
        body += struct.pack("<II", 15, len(z := zlib.compress(element))) + z if compress else element
    path.write_bytes(header + body)


@pytest.mark.parametrize("compress", [False, True])
def test_v5_splits_reader(tmp_path, compress):
    path = tmp_path / "splits.mat"
    _write_v5_splits(path, [1, 2, 4], [3, 5], compress)
    arrays = load_mat_arrays(path)
    assert arrays["trainNdxs"].shape == (3, 1)
    splits = read_nyu_splits(path)
    np.testing.assert_array_equal(splits["train"], [0, 1, 3])
    np.testing.assert_array_equal(splits["test"], [2, 4])


def test_labeled_mat_layout_and_official_split(tmp_path):
    images, depths = _write_labeled_mat(tmp_path / "nyu.mat")
    _write_v5_splits(tmp_path / "splits.mat", [1, 2, 4], [3, 5], True)
    ds = NYUv2LabeledDataset(tmp_path / "nyu.mat", "test", tmp_path / "splits.mat")
    assert len(ds) == 2
    sample = ds[1]  # testNdxs 5 -> image 4
    np.testing.assert_array_equal(sample["image"], images[4])
    np.testing.assert_array_equal(sample["depth"], depths[4])
    assert sample["image"].dtype == np.uint8 and sample["depth"].dtype == np.float32
    np.testing.assert_allclose(sample["K"], nyu_intrinsics())
    assert len(NYUv2LabeledDataset(tmp_path / "nyu.mat", "all")) == N
    explicit = NYUv2LabeledDataset(tmp_path / "nyu.mat", indices=[0, 3])
    np.testing.assert_array_equal(explicit[1]["image"], images[3])


def test_labeled_mat_errors(tmp_path):
    _write_labeled_mat(tmp_path / "nyu.mat")
    with pytest.raises(ValueError, match="splits_path"):
        NYUv2LabeledDataset(tmp_path / "nyu.mat", "train")
    with pytest.raises(FileNotFoundError, match=r"missing\.mat"):
        NYUv2LabeledDataset(tmp_path / "missing.mat")
    with h5py.File(tmp_path / "other.mat", "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(KeyError, match="images"):
        NYUv2LabeledDataset(tmp_path / "other.mat", "all")


def test_bts_list_with_pngs_and_border_crop(tmp_path):
    rng = np.random.default_rng(1)
    scene = tmp_path / "kitchen_0028b"
    scene.mkdir()
    rgb = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    depth_mm = rng.integers(0, 10000, (480, 640)).astype(np.uint16)
    cv2.imwrite(str(scene / "rgb_00045.png"), rgb[..., ::-1])
    cv2.imwrite(str(scene / "sync_depth_00045.png"), depth_mm)
    lst = tmp_path / "train.txt"
    lst.write_text(f"/kitchen_0028b/rgb_00045.png /kitchen_0028b/sync_depth_00045.png {NYU_FX}\n\n")
    sample = NYUListDataset(lst, tmp_path)[0]
    np.testing.assert_array_equal(sample["image"], rgb)
    np.testing.assert_allclose(sample["depth"], depth_mm / 1000.0, rtol=1e-6)
    cropped = NYUListDataset(lst, tmp_path, border_crop=True)[0]
    assert cropped["image"].shape == (427, 565, 3)
    np.testing.assert_array_equal(cropped["depth"], sample["depth"][45:472, 43:608])
    assert cropped["K"][0, 2] == pytest.approx(nyu_intrinsics()[0, 2] - 43)


def test_bts_list_errors_name_the_file(tmp_path):
    lst = tmp_path / "bad.txt"
    lst.write_text("a.jpg b.png\n")
    with pytest.raises(ValueError, match=r"bad.txt:1"):
        NYUListDataset(lst, tmp_path)
    lst.write_text("a.jpg b.png 518.8\n")
    with pytest.raises(FileNotFoundError, match=r"a\.jpg"):
        NYUListDataset(lst, tmp_path)[0]
