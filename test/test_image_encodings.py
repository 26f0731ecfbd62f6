"""disdepth_core.image_encodings: raw/compressed decoding to RGB, depth decoding, encoding for publishing."""

import cv2
import numpy as np
import pytest

from disdepth_core.image_encodings import decode_compressed, decode_depth, decode_image, encode_image

H, W = 6, 8


@pytest.fixture
def rgb() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _padded(array: np.ndarray, pad: int) -> tuple[int, bytes]:
    rows = array.reshape(array.shape[0], -1).view(np.uint8)
    padded = np.concatenate([rows, np.full((rows.shape[0], pad), 0xAB, np.uint8)], axis=1)
    return padded.shape[1], padded.tobytes()


@pytest.mark.parametrize("pad", [0, 5])
@pytest.mark.parametrize(
    ("encoding", "convert"),
    [
        ("rgb8", lambda a: a),
        ("bgr8", lambda a: a[..., ::-1]),
        ("rgba8", lambda a: np.dstack([a, np.full(a.shape[:2], 7, np.uint8)])),
        ("bgra8", lambda a: np.dstack([a[..., ::-1], np.full(a.shape[:2], 7, np.uint8)])),
    ],
)
def test_colour_encodings_roundtrip_with_row_padding(rgb, encoding, convert, pad):
    step, data = _padded(np.ascontiguousarray(convert(rgb)), pad)
    out = decode_image(encoding, H, W, step, data, False)
    assert out.shape == (H, W, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, rgb)


def test_rgb8_is_zero_copy(rgb):
    data = bytearray(rgb.tobytes())
    out = decode_image("rgb8", H, W, W * 3, data, False)
    data[0] = (int(rgb[0, 0, 0]) + 1) % 256
    assert out[0, 0, 0] == data[0]


def test_mono_encodings(rgb):
    gray = rgb[..., 0]
    out = decode_image("mono8", H, W, W, gray.tobytes(), False)
    np.testing.assert_array_equal(out, np.repeat(gray[..., None], 3, axis=2))
    wide = gray.astype(np.uint16) * 257 + 3
    for big in (False, True):
        data = wide.astype(">u2" if big else "<u2").tobytes()
        out16 = decode_image("mono16", H, W, W * 2, data, big)
        np.testing.assert_array_equal(out16[..., 1], gray)


@pytest.mark.parametrize("encoding", ["yuv422", "uyvy", "yuv422_yuy2", "yuyv"])
def test_yuv422_constant_colour(encoding):
    # Constant grey: Y=128, U=V=128 -> RGB ~ (128, 128, 128) in both byte orders.
    data = np.full((H, W * 2), 128, np.uint8).tobytes()
    out = decode_image(encoding, H, W, W * 2, data, False)
    assert out.shape == (H, W, 3)
    assert np.all(np.abs(out.astype(int) - 128) <= 2)


def test_yuv_byte_order_differs():
    # UYVY bytes [U Y V Y]; a Y=200 in the luma slots, chroma neutral.
    uyvy = np.tile(np.array([128, 200, 128, 200], np.uint8), (H, W // 2)).tobytes()
    yuyv = np.tile(np.array([200, 128, 200, 128], np.uint8), (H, W // 2)).tobytes()
    a = decode_image("yuv422", H, W, W * 2, uyvy, False)
    b = decode_image("yuv422_yuy2", H, W, W * 2, yuyv, False)
    np.testing.assert_array_equal(a, b)
    assert a.mean() > 180


def test_bayer_rggb_constant_colour():
    mosaic = np.zeros((H, W), np.uint8)
    mosaic[0::2, 0::2] = 200  # R
    mosaic[0::2, 1::2] = 100  # G
    mosaic[1::2, 0::2] = 100  # G
    mosaic[1::2, 1::2] = 50  # B
    out = decode_image("bayer_rggb8", H, W, W, mosaic.tobytes(), False)
    centre = out[2:-2, 2:-2].reshape(-1, 3)
    np.testing.assert_allclose(centre.mean(axis=0), [200, 100, 50], atol=2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("weird", H, W, W * 3, bytes(H * W * 3)), "unsupported image encoding"),
        (("rgb8", 0, W, W * 3, b""), "zero-sized"),
        (("rgb8", H, 0, 0, b""), "zero-sized"),
        (("rgb8", H, W, W * 3, bytes(H * W * 3 - 1)), "truncated"),
        (("rgb8", H, W, W * 3 - 1, bytes(H * W * 3)), "step"),
        (("32FC1", H, W, W * 4, bytes(H * W * 4)), "depth encoding"),
        (("yuv422", H, W - 1, (W - 1) * 2, bytes(H * W * 2)), "even width"),
    ],
)
def test_bad_input_raises_value_error(args, message):
    with pytest.raises(ValueError, match=message):
        decode_image(*args, False)


def test_decode_depth_32fc1_and_16uc1():
    metres = np.array([[1.5, 0.0], [np.inf, 2.25]], np.float32)
    out = decode_depth("32FC1", 2, 2, 8, metres.tobytes(), False)
    np.testing.assert_array_equal(np.isnan(out), [[False, True], [True, False]])
    assert out[0, 0] == 1.5
    mm = np.array([[1500, 0], [7, 65535]], np.uint16)
    out = decode_depth("16UC1", 2, 2, 4, mm.astype(">u2").tobytes(), True)
    np.testing.assert_allclose(out, [[1.5, np.nan], [0.007, 65.535]], rtol=1e-6)
    with pytest.raises(ValueError, match="depth encoding"):
        decode_depth("rgb8", 2, 2, 6, bytes(12), False)


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_decode_compressed(rgb, ext):
    ok, buf = cv2.imencode(ext, rgb[..., ::-1].copy())
    assert ok
    out = decode_compressed("rgb8; jpeg compressed bgr8" if ext == ".jpg" else "png", buf.tobytes())
    assert out.shape == (H, W, 3)
    if ext == ".png":
        np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize(
    ("fmt", "data"), [("jpeg", b""), ("jpeg", b"not an image"), ("16UC1; compressedDepth", b"x")]
)
def test_decode_compressed_errors(fmt, data):
    with pytest.raises(ValueError):
        decode_compressed(fmt, data)


def test_encode_image_roundtrip(rgb):
    depth = np.array([[1.0, np.nan], [2.0, 3.5]], np.float32)
    step, data = encode_image(depth, "32FC1")
    assert step == 8
    np.testing.assert_array_equal(decode_depth("32FC1", 2, 2, step, data, False)[0], [1.0, np.nan])
    step, data = encode_image(np.array([[1000, 0]], np.uint16), "16UC1")
    assert (step, len(data)) == (4, 4)
    step, data = encode_image(rgb[:, ::-1], "rgb8")  # non-contiguous input
    np.testing.assert_array_equal(decode_image("rgb8", H, W, step, data, False), rgb[:, ::-1])
    with pytest.raises(ValueError):
        encode_image(depth, "rgb8")
    with pytest.raises(ValueError):
        encode_image(rgb.astype(np.float32), "bgr8")
    with pytest.raises(ValueError):
        encode_image(depth, "yuv422")
