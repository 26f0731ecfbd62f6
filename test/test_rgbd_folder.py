"""RGB-D .npz folders (the real_dev format): sources, intrinsics fallback, refusal of bad files, and the
real frames themselves where ../shared is present."""

import json
from pathlib import Path

import numpy as np
import pytest

from disdepth_core.data.rgbd_folder import MAX_PIXELS, RGBDFolder

REAL_DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_dev"


def _frame(path: Path, k: np.ndarray, **extra: np.ndarray) -> None:
    rgb = np.full((4, 6, 3), 7, np.uint8)
    depth = np.linspace(0.5, 3.0, 24, dtype=np.float32).reshape(4, 6)
    np.savez(path, rgb=rgb, depth=depth, K=k, **extra)


def test_sources_intrinsics_and_samples(tmp_path):
    k = np.array([[5.0, 0, 3], [0, 5.0, 2], [0, 0, 1]])
    _frame(tmp_path / "lab_0001.npz", k)
    _frame(tmp_path / "lab_0002.npz", np.zeros((3, 3)), K_nominal=k * 2)
    _frame(tmp_path / "street_x_17.npz", np.zeros((3, 3)))
    folder = RGBDFolder(tmp_path)
    assert folder.sources == ["lab", "lab", "street"]
    frames = list(folder)
    assert [f.k_kind for f in frames] == ["calibrated", "nominal", "unknown"]
    assert frames[1].K[0, 0] == 10.0 and frames[2].K is None
    assert "K" not in folder[2] and folder[0]["group"] == "lab"
    assert len(RGBDFolder(tmp_path, sources=("street",))) == 1
    (tmp_path / "index.json").write_text(json.dumps([{"name": "street_x_17", "src": "kitti"}]))
    assert RGBDFolder(tmp_path).sources == ["lab", "lab", "kitti"]


def test_bad_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        RGBDFolder(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"no \.npz"):
        RGBDFolder(tmp_path)
    (tmp_path / "broken_1.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"broken_1\.npz: not a readable"):
        RGBDFolder(tmp_path).frame(0)
    (tmp_path / "broken_1.npz").unlink()
    np.savez(tmp_path / "objects_1.npz", rgb=np.array([object()], dtype=object), depth=np.zeros(1))
    with pytest.raises(ValueError, match=r"objects_1\.npz"):  # pickled arrays are never loaded
        RGBDFolder(tmp_path).frame(0)


def test_oversized_image_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("disdepth_core.data.rgbd_folder.MAX_PIXELS", 20)
    _frame(tmp_path / "big_1.npz", np.zeros((3, 3)))
    with pytest.raises(ValueError, match="exceeds 20 pixels"):
        RGBDFolder(tmp_path).frame(0)
    assert MAX_PIXELS >= 4096 * 4096


@pytest.mark.skipif(not REAL_DEV.is_dir(), reason="../shared/data/real_dev is not present")
def test_real_dev_frames_load():
    folder = RGBDFolder(REAL_DEV)
    assert len(folder) == 85
    counts = {s: folder.sources.count(s) for s in set(folder.sources)}
    assert counts == {
        "realsense_ty": 25,
        "sevenscenes": 25,
        "graspnet": 1,
        "dgp": 27,
        "kitti_obj": 3,
        "opencalib": 4,
    }
    frame = folder.frame(0)
    assert frame.image.dtype == np.uint8 and frame.depth.shape == frame.image.shape[:2]
