"""Camera effects: each one changes image statistics the way a camera would; seeded runs repeat exactly."""

import numpy as np
import pytest

from disdepth_core.data.photometric import Photometric

OFF = dict(
    defocus_prob=0.0,
    motion_prob=0.0,
    vignetting=(0.0, 0.0),
    exposure_stops=0.0,
    white_balance=0.0,
    shot_noise=(0.0, 0.0),
    read_noise=(0.0, 0.0),
    jpeg_prob=0.0,
)


def _linear(image):
    return (image.astype(np.float64) / 255.0) ** 2.2


def _grey(value=128, h=60, w=80):
    return np.full((h, w, 3), value, np.uint8)


def _texture(h=60, w=80):
    rng = np.random.default_rng(0)
    return rng.integers(30, 220, (h, w, 3)).astype(np.uint8)


def test_all_effects_off_keeps_the_image():
    image = _texture()
    out = Photometric(**OFF).apply(image, np.random.default_rng(0))
    assert np.abs(out.astype(int) - image.astype(int)).max() <= 1


def test_exposure_scales_linear_intensity_by_up_to_the_stated_stops():
    aug = Photometric(**{**OFF, "exposure_stops": 1.0})
    image = _grey(90)
    ratios = np.array([_linear(aug.apply(image, np.random.default_rng(s))).mean() for s in range(40)])
    ratios /= _linear(image).mean()
    assert ratios.min() >= 0.5 * 0.97 and ratios.max() <= 2.0 * 1.03
    assert ratios.min() < 0.7 and ratios.max() > 1.4  # the range is used, both ways


def test_white_balance_changes_red_and_blue_against_green():
    aug = Photometric(**{**OFF, "white_balance": 0.2})
    image = _grey(100)
    gains = []
    for s in range(30):
        lin = _linear(aug.apply(image, np.random.default_rng(s))).mean(axis=(0, 1))
        gains.append(lin / lin[1])
    gains = np.array(gains)
    assert np.all(np.abs(np.log(gains[:, [0, 2]])) <= 0.2 + 0.02)
    assert gains[:, 0].std() > 0.05 and gains[:, 2].std() > 0.05


def test_read_noise_has_the_stated_standard_deviation():
    aug = Photometric(**{**OFF, "read_noise": (0.02, 0.02)})
    out = aug.apply(_grey(128, 200, 200), np.random.default_rng(1))
    assert _linear(out).std() == pytest.approx(0.02, rel=0.2)


def test_shot_noise_grows_with_brightness():
    aug = Photometric(**{**OFF, "shot_noise": (0.01, 0.01)})
    dark = _linear(aug.apply(_grey(60, 200, 200), np.random.default_rng(2))).std()
    bright = _linear(aug.apply(_grey(200, 200, 200), np.random.default_rng(2))).std()
    assert bright > 1.8 * dark


def test_vignetting_darkens_corners_not_the_centre():
    aug = Photometric(**{**OFF, "vignetting": (0.4, 0.4)})
    out = _linear(aug.apply(_grey(150), np.random.default_rng(0))).mean(axis=2)
    centre, corner = out[28:32, 38:42].mean(), out[:3, :3].mean()
    assert centre == pytest.approx(_linear(_grey(150)).mean(), rel=0.03)
    assert corner / centre == pytest.approx(0.6, abs=0.05)  # gain 1 - 0.4 r^2, r = 1 at the corners


def test_blur_removes_fine_detail_and_jpeg_changes_pixels():
    image = _texture(240, 320)  # blur sizes are stated for 320-pixel-wide images
    grad = lambda im: np.abs(np.diff(im.astype(np.float64), axis=1)).mean()  # noqa: E731
    motion = Photometric(**{**OFF, "motion_prob": 1.0, "motion_length": (6.0, 6.0)})
    defocus = Photometric(**{**OFF, "defocus_prob": 1.0, "defocus_sigma": (1.5, 1.5)})
    assert grad(motion.apply(image, np.random.default_rng(0))) < 0.7 * grad(image)
    assert grad(defocus.apply(image, np.random.default_rng(0))) < 0.5 * grad(image)
    jpeg = Photometric(**{**OFF, "jpeg_prob": 1.0, "jpeg_quality": (30, 30)}).apply(
        image, np.random.default_rng(0)
    )
    assert jpeg.shape == image.shape and jpeg.dtype == np.uint8 and not np.array_equal(jpeg, image)


def test_seeded_generator_reproduces_and_other_keys_are_untouched():
    sample = {"image": _texture(), "depth": np.ones((60, 80), np.float32), "K": np.eye(3, dtype=np.float32)}
    a = Photometric()(sample, np.random.default_rng(5))
    b = Photometric()(sample, np.random.default_rng(5))
    c = Photometric()(sample, np.random.default_rng(6))
    np.testing.assert_array_equal(a["image"], b["image"])
    assert not np.array_equal(a["image"], c["image"])
    assert a["depth"] is sample["depth"] and a["K"] is sample["K"]


def test_rejects_non_rgb_uint8():
    with pytest.raises(ValueError, match="uint8"):
        Photometric().apply(np.zeros((4, 4), np.float32), np.random.default_rng(0))
