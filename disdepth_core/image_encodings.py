"""Raw image buffers <-> numpy arrays, following the `sensor_msgs/Image` encoding strings (no ROS imports).

The functions take the plain message fields (`encoding`, `height`, `width`, `step`, `data`,
`is_bigendian`) so that the ROS node and the pure-Python rosbag reader share one decoder.

Conventions (REP 118 for depth, `sensor_msgs/image_encodings.hpp` for the encoding names):

- `decode_image` returns **RGB uint8 H x W x 3** (the network's input, see docs/ARCHITECTURE.md).
  rgb8/rgba8/bgr8/bgra8 are zero-copy (read-only) views into `data` that honour `step` (row padding);
  other encodings are converted with OpenCV into a new array.
- mono16 is mapped to 8 bit with a fixed shift (`value >> 8`, i.e. the full 16-bit range onto 0..255),
  never a per-frame stretch, so brightness does not flicker between frames. Cameras that put 12-bit data
  in a 16-bit container therefore look 16x darker; the network still sees a consistent image.
- `yuv422` is UYVY and `yuv422_yuy2` is YUYV (the ROS names; `uyvy`/`yuyv` are accepted as aliases).
- Bayer names follow ROS (`bayer_rggb8` = R at (0, 0)); OpenCV names the pattern by the second row,
  hence the "swapped" OpenCV codes below (the same mapping cv_bridge uses).
- `decode_depth` reads 32FC1 metres (NaN invalid) and 16UC1 millimetres (0 invalid) into float32 metres
  with NaN for invalid; `encode_image` writes 32FC1/16UC1/bgr8/rgb8/mono8 little-endian buffers.
- Size caps: every decoder refuses images with more than `max_pixels` pixels (default
  `DEFAULT_MAX_PIXELS`) before it allocates anything. Compressed images must be JPEG or PNG (what
  image_transport's `compressed` plugin sends); their declared size is read from the JPEG SOF / PNG
  IHDR header first (`compressed_size`), so a decompression bomb (a few hundred bytes declaring
  12000 x 12000 pixels) is refused without decoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from disdepth_core import native_stderr
from disdepth_core.geometry import valid_depth

__all__ = [
    "COLOR_ENCODINGS",
    "DEFAULT_MAX_PIXELS",
    "DEPTH_ENCODINGS",
    "CorruptImageError",
    "ImageTooLargeError",
    "compressed_size",
    "decode_compressed",
    "decode_depth",
    "decode_image",
    "encode_image",
]


DEFAULT_MAX_PIXELS = 8192 * 8192
"""Hard ceiling on decoded image size (pixels) when a caller gives none; callers serving a camera
should pass a tighter limit (the depth node's `max_input_pixels`)."""


class CorruptImageError(ValueError):
    """The decoder reported corrupt data (it may still have produced an image)."""


_CORRUPTION = ("Corrupt JPEG data", "Premature end of JPEG file", "libpng error")


class ImageTooLargeError(ValueError):
    """An image declares more pixels than the caller allows; nothing was decoded."""


def _check_pixels(width: int, height: int, max_pixels: int | None, what: str) -> None:
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    if width * height > limit:
        raise ImageTooLargeError(
            f"{what} is {width}x{height} = {width * height} pixels, over the limit of {limit}"
        )


@dataclass(frozen=True)
class _Layout:
    channels: int
    itemsize: int  # bytes per channel value


_LAYOUTS: dict[str, _Layout] = {
    "rgb8": _Layout(3, 1),
    "bgr8": _Layout(3, 1),
    "rgba8": _Layout(4, 1),
    "bgra8": _Layout(4, 1),
    "mono8": _Layout(1, 1),
    "8UC1": _Layout(1, 1),
    "mono16": _Layout(1, 2),
    "yuv422": _Layout(2, 1),
    "uyvy": _Layout(2, 1),
    "yuv422_yuy2": _Layout(2, 1),
    "yuyv": _Layout(2, 1),
    "bayer_rggb8": _Layout(1, 1),
    "bayer_bggr8": _Layout(1, 1),
    "bayer_gbrg8": _Layout(1, 1),
    "bayer_grbg8": _Layout(1, 1),
    "32FC1": _Layout(1, 4),
    "16UC1": _Layout(1, 2),
}

# Encodings converted to RGB by one OpenCV colour conversion of the raw (H x W x C) view.
_CV_TO_RGB: dict[str, int] = {
    "mono8": cv2.COLOR_GRAY2RGB,
    "8UC1": cv2.COLOR_GRAY2RGB,
    "yuv422": cv2.COLOR_YUV2RGB_UYVY,
    "uyvy": cv2.COLOR_YUV2RGB_UYVY,
    "yuv422_yuy2": cv2.COLOR_YUV2RGB_YUYV,
    "yuyv": cv2.COLOR_YUV2RGB_YUYV,
    "bayer_rggb8": cv2.COLOR_BayerBG2RGB,
    "bayer_bggr8": cv2.COLOR_BayerRG2RGB,
    "bayer_gbrg8": cv2.COLOR_BayerGR2RGB,
    "bayer_grbg8": cv2.COLOR_BayerGB2RGB,
}

COLOR_ENCODINGS: frozenset[str] = frozenset({"rgb8", "bgr8", "rgba8", "bgra8", "mono16", *_CV_TO_RGB})
DEPTH_ENCODINGS: frozenset[str] = frozenset({"32FC1", "16UC1"})

_ENCODE_DTYPES: dict[str, tuple[np.dtype, int]] = {
    "32FC1": (np.dtype("<f4"), 1),
    "16UC1": (np.dtype("<u2"), 1),
    "mono8": (np.dtype("u1"), 1),
    "rgb8": (np.dtype("u1"), 3),
    "bgr8": (np.dtype("u1"), 3),
}


def _raw_view(
    encoding: str,
    height: int,
    width: int,
    step: int,
    data: bytes | memoryview,
    is_bigendian: bool,
    max_pixels: int | None,
) -> np.ndarray:
    """Validate the fields and return an H x W x C view of `data` (zero-copy, honours `step`)."""
    layout = _LAYOUTS.get(encoding)
    if layout is None:
        raise ValueError(f"unsupported image encoding {encoding!r}; supported: {', '.join(sorted(_LAYOUTS))}")
    if height <= 0 or width <= 0:
        raise ValueError(f"zero-sized image ({width}x{height}, encoding {encoding!r})")
    _check_pixels(width, height, max_pixels, f"{encoding} image")
    row_bytes = width * layout.channels * layout.itemsize
    if step < row_bytes:
        raise ValueError(
            f"step {step} is smaller than width*bytes_per_pixel = {width}*"
            f"{layout.channels * layout.itemsize} = {row_bytes} for {encoding!r}"
        )
    needed = step * height
    if len(data) < needed:
        raise ValueError(
            f"truncated image data: {len(data)} bytes, expected step*height = {step}*{height} = {needed}"
        )
    rows = np.frombuffer(data, dtype=np.uint8, count=needed).reshape(height, step)[:, :row_bytes]
    if layout.itemsize > 1:
        kind = "f" if encoding == "32FC1" else "u"
        dtype = np.dtype(f"{'>' if is_bigendian else '<'}{kind}{layout.itemsize}")
        rows = rows.view(dtype)
    return rows.reshape(height, width, layout.channels)


def decode_image(
    encoding: str,
    height: int,
    width: int,
    step: int,
    data: bytes | memoryview,
    is_bigendian: bool,
    max_pixels: int | None = None,
) -> np.ndarray:
    """Decode a raw colour or mono image buffer into RGB uint8 H x W x 3.

    Raises ValueError for unsupported encodings (depth encodings included), zero-sized images, images
    over `max_pixels`, `step` smaller than one row of pixels, or `data` shorter than `step * height`.
    """
    if encoding in DEPTH_ENCODINGS:
        raise ValueError(
            f"{encoding!r} is a depth encoding, not a camera image: the image topic must carry colour or "
            f"mono images ({', '.join(sorted(set(_LAYOUTS) - DEPTH_ENCODINGS))})"
        )
    raw = _raw_view(encoding, height, width, step, data, is_bigendian, max_pixels)
    if encoding == "rgb8":
        return raw
    if encoding == "bgr8":
        return raw[..., ::-1]
    if encoding == "rgba8":
        return raw[..., :3]
    if encoding == "bgra8":
        return raw[..., 2::-1]
    if encoding == "mono16":
        gray = (raw[..., 0] >> 8).astype(np.uint8)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    if encoding in ("yuv422", "uyvy", "yuv422_yuy2", "yuyv") and width % 2:
        raise ValueError(f"{encoding!r} needs an even width, got {width}")
    source = raw if raw.shape[2] > 1 else raw[..., 0]
    return cv2.cvtColor(np.ascontiguousarray(source), _CV_TO_RGB[encoding])


def decode_depth(
    encoding: str,
    height: int,
    width: int,
    step: int,
    data: bytes | memoryview,
    is_bigendian: bool,
    max_pixels: int | None = None,
) -> np.ndarray:
    """Decode a REP 118 depth image into float32 metres H x W with NaN for invalid.

    32FC1 is metres (non-finite or <= 0 -> NaN); 16UC1 is millimetres (0 -> NaN).
    """
    if encoding not in DEPTH_ENCODINGS:
        raise ValueError(
            f"{encoding!r} is not a depth encoding: depth images are 16UC1 (millimetres) or 32FC1 (metres), "
            "REP 118; is this a colour topic?"
        )
    raw = _raw_view(encoding, height, width, step, data, is_bigendian, max_pixels)[..., 0]
    if encoding == "16UC1":
        depth = raw.astype(np.float32) * np.float32(1e-3)
        depth[raw == 0] = np.nan
        return depth
    depth = raw.astype(np.float32)
    depth[~valid_depth(depth)] = np.nan
    return depth


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (not DHT/JPG/DAC)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the first SOF segment of a JPEG (ITU-T T.81 B.2.2)."""
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise ValueError(f"corrupt JPEG header: expected a marker at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD8 or 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            position += 2
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker in _JPEG_SOF:
            if position + 9 > len(data) or length < 7:
                break
            height = int.from_bytes(data[position + 5 : position + 7], "big")
            width = int.from_bytes(data[position + 7 : position + 9], "big")
            return width, height
        if marker in (0xD9, 0xDA) or length < 2:  # end of image / start of scan before any frame header
            break
        position += 2 + length
    raise ValueError("corrupt JPEG header: no frame header (SOF) before the image data")


def compressed_size(data: bytes | memoryview) -> tuple[int, int, str]:
    """(width, height, "jpeg" | "png") declared in a compressed image's header, without decoding.

    Raises ValueError for other formats or a malformed header.
    """
    head = bytes(data[:65536]) if len(data) > 65536 else bytes(data)
    if head[:2] == b"\xff\xd8":
        return (*_jpeg_size(head), "jpeg")
    if head[:8] == _PNG_SIGNATURE:
        if len(head) < 24 or head[12:16] != b"IHDR":
            raise ValueError("corrupt PNG header: no IHDR chunk")
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"), "png"
    raise ValueError(f"not a JPEG or PNG image (first bytes {head[:4].hex()}); only jpeg and png are decoded")


def decode_compressed(
    format: str, data: bytes | memoryview, max_pixels: int | None = None, allow_corrupt: bool = False
) -> np.ndarray:
    """Decode a `sensor_msgs/CompressedImage` (jpeg/png, any image_transport format string) to RGB uint8.

    The size declared in the header is checked against `max_pixels` before decoding. `compressedDepth`
    payloads are depth, not colour, and are rejected; so are empty, non-JPEG/PNG or undecodable bytes.
    Data the decoder reports as corrupt but still decodes (libjpeg's "Corrupt JPEG data", a truncated
    file) raises CorruptImageError unless `allow_corrupt`: a partly garbage image would become garbage
    depth. The decoder's stderr messages are captured (`disdepth_core.native_stderr`), never printed.
    """
    if "compresseddepth" in format.lower():
        raise ValueError(f"compressed format {format!r} is a depth stream, not a colour image")
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size == 0:
        raise ValueError(f"empty compressed image (format {format!r})")
    width, height, kind = compressed_size(data)
    if width <= 0 or height <= 0:
        raise ValueError(f"{kind} header declares a zero-sized image ({width}x{height})")
    _check_pixels(width, height, max_pixels, f"{kind} image")
    with native_stderr.capture() as messages:
        try:
            bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
        except cv2.error as error:
            raise ValueError(f"could not decode {buffer.size} bytes of {kind} ({error.err})") from None
    corrupt = [line for line in messages if line.startswith(_CORRUPTION)]
    if corrupt and not allow_corrupt:
        raise CorruptImageError(f"corrupt {kind} data ({buffer.size} bytes): {corrupt[0]}")
    if bgr is None:
        raise ValueError(f"could not decode {buffer.size} bytes of {kind} image (format {format!r})")
    if bgr.shape[:2] != (height, width):
        raise ValueError(f"{kind} decoded to {bgr.shape[1]}x{bgr.shape[0]}, header said {width}x{height}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def encode_image(array: np.ndarray, encoding: str) -> tuple[int, bytes]:
    """Serialise `array` for a `sensor_msgs/Image` with `encoding`; returns (step, data), little-endian.

    32FC1 takes float (metres, NaN invalid), 16UC1 uint16 (millimetres, 0 invalid), mono8 uint8 H x W,
    rgb8/bgr8 uint8 H x W x 3 (channel order is the caller's: no conversion happens here).
    """
    spec = _ENCODE_DTYPES.get(encoding)
    if spec is None:
        raise ValueError(f"cannot encode {encoding!r}; supported: {', '.join(sorted(_ENCODE_DTYPES))}")
    dtype, channels = spec
    expected_ndim = 2 if channels == 1 else 3
    if array.ndim != expected_ndim or (channels > 1 and array.shape[2] != channels):
        raise ValueError(
            f"{encoding!r} expects shape {'H x W' if channels == 1 else 'H x W x 3'}, got {array.shape}"
        )
    if array.dtype.kind != dtype.kind or (dtype.kind != "f" and array.dtype.itemsize != dtype.itemsize):
        raise ValueError(f"{encoding!r} expects dtype {dtype.name}, got {array.dtype}")
    contiguous = np.ascontiguousarray(array, dtype=dtype)
    return array.shape[1] * channels * dtype.itemsize, contiguous.tobytes()
