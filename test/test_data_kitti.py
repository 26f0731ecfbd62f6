"""KITTI Eigen loader on a tiny KITTI-like tree (raw images + calib, annotated depth PNGs, BTS list)."""

import cv2
import numpy as np
import pytest

from disdepth_core.data.kitti import KB_CROP_HEIGHT, KB_CROP_WIDTH, KITTIListDataset

H, W = 360, 1230  # small enough for a test, big enough for the 352 x 1216 KB crop
P_RECT_02 = (
    "7.215377e+02 0.000000e+00 6.095593e+02 4.485728e+01 0.000000e+00 7.215377e+02 1.728540e+02 "
    "2.163791e-01 0.000000e+00 0.000000e+00 1.000000e+00 2.745884e-03"
)


@pytest.fixture
def kitti(tmp_path):
    rng = np.random.default_rng(0)
    raw = tmp_path / "raw"
    gt = tmp_path / "gt"
    image_dir = raw / "2011_09_26" / "2011_09_26_drive_0002_sync" / "image_02" / "data"
    depth_dir = gt / "2011_09_26_drive_0002_sync" / "proj_depth" / "groundtruth" / "image_02"
    image_dir.mkdir(parents=True)
    depth_dir.mkdir(parents=True)
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    depth = (rng.uniform(1, 80, (H, W)) * 256).astype(np.uint16)
    depth[rng.random((H, W)) < 0.9] = 0  # sparse LiDAR ground truth
    cv2.imwrite(str(image_dir / "0000000069.png"), image[..., ::-1])
    cv2.imwrite(str(depth_dir / "0000000069.png"), depth)
    (raw / "2011_09_26" / "calib_cam_to_cam.txt").write_text(f"calib_time: x\nP_rect_02: {P_RECT_02}\n")
    lst = tmp_path / "eigen_test.txt"
    lst.write_text(
        "2011_09_26/2011_09_26_drive_0002_sync/image_02/data/0000000069.png "
        "2011_09_26_drive_0002_sync/proj_depth/groundtruth/image_02/0000000069.png 721.5377\n"
        "2011_09_26/2011_09_26_drive_0002_sync/image_02/data/0000000070.png None 721.5377\n"
    )
    return lst, raw, gt, image, depth


def test_full_frame_with_calibration(kitti):
    lst, raw, gt, image, depth = kitti
    ds = KITTIListDataset(lst, raw, gt, kb_crop=False)
    assert len(ds) == 1 and ds.n_without_gt == 1
    s = ds[0]
    np.testing.assert_array_equal(s["image"], image)
    np.testing.assert_allclose(s["depth"], depth / 256.0, rtol=1e-6)
    assert (s["depth"] == 0).mean() > 0.8
    np.testing.assert_allclose(
        s["K"], [[721.5377, 0, 609.5593], [0, 721.5377, 172.854], [0, 0, 1]], rtol=1e-6
    )


def test_kb_crop_moves_principal_point(kitti):
    lst, raw, gt, image, _ = kitti
    s = KITTIListDataset(lst, raw, gt)[0]
    top, left = H - KB_CROP_HEIGHT, (W - KB_CROP_WIDTH) // 2
    assert s["image"].shape == (KB_CROP_HEIGHT, KB_CROP_WIDTH, 3)
    np.testing.assert_array_equal(s["image"], image[top:, left : left + KB_CROP_WIDTH])
    assert s["K"][0, 2] == pytest.approx(609.5593 - left)
    assert s["K"][1, 2] == pytest.approx(172.854 - top)


def test_without_calibration_focal_from_list(kitti):
    lst, raw, gt, *_ = kitti
    (raw / "2011_09_26" / "calib_cam_to_cam.txt").unlink()
    s = KITTIListDataset(lst, raw, gt, kb_crop=False)[0]
    np.testing.assert_allclose(
        s["K"], [[721.5377, 0, (W - 1) / 2], [0, 721.5377, (H - 1) / 2], [0, 0, 1]], rtol=1e-6
    )
