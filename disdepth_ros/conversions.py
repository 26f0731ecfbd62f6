"""numpy <-> sensor_msgs conversions for the depth node (our own numpy code: no cv_bridge, whose binaries
break with NumPy 2 on Humble/Jazzy).

- Colour input: `sensor_msgs/Image` via `disdepth_core.image_encodings.decode_image` (cv_bridge is tried
  only for encodings we do not decode, when it is importable), `CompressedImage` via `decode_compressed`.
- Depth output follows REP 118: 32FC1 metres with NaN invalid, or 16UC1 millimetres with 0 invalid.
- Point clouds are organized `PointCloud2` in the PCL layout: `x y z` float32 at offsets 0/4/8 with
  point_step 16 (PointXYZ), or with a packed `rgb` float32 at offset 16 and point_step 32 (PointXYZRGB);
  NaN for invalid points and `is_dense = False`.
- Intrinsics come from `P` when it is non-zero (rectified image), else from `K` (REP 104 / CameraInfo).

`msg.data` is always assigned an `array.array('B')` (assigning a numpy array or a memoryview goes
through per-element Python work, ~60-300x slower), on messages built so that the generated setter keeps
that array instead of copying it (`_KEEP_ARRAY`); clouds are written straight into that array.
"""

from __future__ import annotations

import array
from collections.abc import Callable

import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2, PointField
from std_msgs.msg import Header

from disdepth_core.geometry import CameraIntrinsics, depth_to_points, scale_projection
from disdepth_core.image_encodings import decode_compressed, decode_depth, decode_image, encode_image

__all__ = [
    "array_to_image_msg",
    "camera_info_to_intrinsics",
    "compressed_msg_to_rgb",
    "depth_msg_to_array",
    "depth_to_cloud_msg",
    "depth_to_image_msg",
    "depth_to_mm_image_msg",
    "image_msg_to_rgb",
    "message_array",
    "points_to_cloud_msg",
    "scaled_camera_info",
]

_MAX_MM = np.iinfo(np.uint16).max


def _keep_array_kwargs(msg_type: type) -> dict[str, bool]:
    """Constructor kwargs under which `msg.data = array.array('B')` stores that array itself.

    Humble's generated setters keep an `array.array` as is; Jazzy's copy it (`array.array('B', value)`)
    unless the message was built with `check_fields=True` (or ROS_PYTHON_CHECK_FIELDS=1), which checks
    each assignment's type instead: one typecode check for an array. Probed, not keyed on the distro.
    """
    for kwargs in ({}, {"check_fields": True}):
        try:
            msg = msg_type(**kwargs)
        except AssertionError:  # a generator without `check_fields`
            continue
        probe = array.array("B")
        msg.data = probe
        if msg.data is probe:
            return kwargs
    return {}


_KEEP_ARRAY = {msg_type: _keep_array_kwargs(msg_type) for msg_type in (Image, PointCloud2)}


def message_array(shape: tuple[int, ...], dtype: np.dtype | type = np.float32) -> np.ndarray:
    """A zeroed C-contiguous little-endian array whose memory is an `array.array('B')` of its own:
    an image computed straight into it becomes a message without a copy (`array_to_image_msg` takes
    that array as `msg.data`; the message and the array then share their bytes)."""
    dtype = np.dtype(dtype).newbyteorder("<")
    data = array.array("B", b"\0") * (int(np.prod(shape)) * dtype.itemsize)
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def _message_data(array_: np.ndarray) -> array.array | None:
    """The `array.array('B')` holding exactly the bytes of `array_` (one made by `message_array`, not a
    slice or a view of part of it), else None."""
    owner: object = array_.base
    while isinstance(owner, np.ndarray | memoryview):
        owner = owner.base if isinstance(owner, np.ndarray) else owner.obj
    if (
        isinstance(owner, array.array)
        and owner.typecode == "B"
        and array_.flags.c_contiguous
        and len(owner) == array_.nbytes
        and owner.buffer_info()[0] == array_.ctypes.data
    ):
        return owner
    return None


def _byte_array(data: bytes) -> array.array:
    """`data` as the `array.array('B')` that `msg.data` takes without per-element work (one copy)."""
    out = array.array("B")
    out.frombytes(data)
    return out


def image_msg_to_rgb(msg: Image, max_pixels: int | None = None) -> np.ndarray:
    """Decode a colour/mono `sensor_msgs/Image` to RGB uint8 H x W x 3 (ValueError on bad input).

    Images over `max_pixels` are refused before decoding. Encodings `image_encodings` does not know are
    handed to cv_bridge when it is installed.
    """
    try:
        return decode_image(
            msg.encoding, msg.height, msg.width, msg.step, msg.data, bool(msg.is_bigendian), max_pixels
        )
    except ValueError as error:
        if not str(error).startswith("unsupported image encoding"):
            raise
        return _cv_bridge_rgb(msg, error)


def depth_msg_to_array(msg: Image, max_pixels: int | None = None) -> np.ndarray:
    """Decode a REP 118 depth `sensor_msgs/Image` (32FC1 m, 16UC1 mm) to float32 metres, NaN invalid
    (ValueError on bad input; images over `max_pixels` are refused before decoding)."""
    return decode_depth(
        msg.encoding, msg.height, msg.width, msg.step, msg.data, bool(msg.is_bigendian), max_pixels
    )


def _cv_bridge_rgb(msg: Image, error: ValueError) -> np.ndarray:
    try:
        from cv_bridge import CvBridge, CvBridgeError
    except ImportError:
        raise error from None
    try:
        return np.asarray(CvBridge().imgmsg_to_cv2(msg, desired_encoding="rgb8"))
    except (CvBridgeError, TypeError) as bridge_error:
        raise ValueError(f"{error}; cv_bridge could not convert it either: {bridge_error}") from None


def compressed_msg_to_rgb(msg: CompressedImage, max_pixels: int | None = None) -> np.ndarray:
    """Decode a jpeg/png `sensor_msgs/CompressedImage` to RGB uint8 H x W x 3 (ValueError on bad input);
    the size its header declares is checked against `max_pixels` before decoding."""
    return decode_compressed(msg.format, msg.data, max_pixels)


def array_to_image_msg(array_: np.ndarray, encoding: str, header: Header) -> Image:
    """Build a little-endian `sensor_msgs/Image` from `array_` (see `encode_image` for the encodings).

    A 32FC1 image made by `message_array` becomes `msg.data` as it is (no copy: the message shares its
    bytes with `array_`); any other array is copied."""
    owner = _message_data(array_) if encoding == "32FC1" else None
    if owner is not None and array_.ndim == 2 and array_.dtype == np.dtype("<f4"):
        step, data = array_.shape[1] * 4, owner
    else:
        step, encoded = encode_image(array_, encoding)
        data = _byte_array(encoded)
    msg = Image(
        header=header,
        height=array_.shape[0],
        width=array_.shape[1],
        encoding=encoding,
        is_bigendian=0,
        step=step,
        **_KEEP_ARRAY[Image],
    )
    msg.data = data
    return msg


def depth_to_image_msg(depth: np.ndarray, header: Header) -> Image:
    """Depth in metres (NaN invalid) -> 32FC1 `Image` (REP 118)."""
    return array_to_image_msg(depth.astype(np.float32, copy=False), "32FC1", header)


def depth_to_mm_image_msg(depth: np.ndarray, header: Header) -> Image:
    """Depth in metres -> 16UC1 millimetres (REP 118); NaN, <= 0 and beyond 65.535 m become 0 (invalid)."""
    with np.errstate(invalid="ignore"):
        millimetres = np.rint(depth * 1000.0)
        valid = (millimetres > 0) & (millimetres <= _MAX_MM)
    mm = np.where(valid, millimetres, 0).astype(np.uint16)
    return array_to_image_msg(mm, "16UC1", header)


_XYZ_FIELDS = [
    PointField(name=n, offset=4 * i, datatype=PointField.FLOAT32, count=1) for i, n in enumerate("xyz")
]
_RGB_FIELD = PointField(name="rgb", offset=16, datatype=PointField.FLOAT32, count=1)


def _pack_rgb(view: np.ndarray, rgb: np.ndarray) -> None:
    """Write `rgb` (uint8 H x W x 3, RGB) into bytes 16..19 of each point as uint32 0x00RRGGBB."""
    height, width, floats_per_point = view.shape
    if rgb.shape != (height, width, 3) or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be uint8 {(height, width, 3)}, got {rgb.dtype} {rgb.shape}")
    # Little-endian uint32 0x00RRGGBB = bytes B, G, R, 0.
    view.view(np.uint8).reshape(height, width, 4 * floats_per_point)[..., 16:19] = rgb[..., ::-1]


def _build_cloud(
    height: int,
    width: int,
    header: Header,
    rgb: np.ndarray | None,
    fill_xyz: Callable[[np.ndarray], object],
) -> PointCloud2:
    """The organized H x W PointCloud2 (PCL PointXYZ / PointXYZRGB) built in its own `msg.data` array.

    The array is zeroed (padding floats stay 0); `fill_xyz` writes x, y, z into the little-endian float32
    H x W x 3 view it is given, and `rgb` is packed by `_pack_rgb`. No intermediate buffer, no copy.
    """
    with_rgb = rgb is not None
    floats_per_point = 8 if with_rgb else 4
    data = array.array("B", b"\0") * (height * width * floats_per_point * 4)
    view = np.frombuffer(data, dtype="<f4").reshape(height, width, floats_per_point)
    fill_xyz(view[..., :3])
    if with_rgb:
        _pack_rgb(view, rgb)
    del view  # release the array's buffer export before the message takes the array
    point_step = 4 * floats_per_point
    msg = PointCloud2(
        header=header,
        height=height,
        width=width,
        fields=[*_XYZ_FIELDS, _RGB_FIELD] if with_rgb else list(_XYZ_FIELDS),
        is_bigendian=False,
        point_step=point_step,
        row_step=point_step * width,
        is_dense=False,
        **_KEEP_ARRAY[PointCloud2],
    )
    msg.data = data
    return msg


def points_to_cloud_msg(points: np.ndarray, header: Header, rgb: np.ndarray | None = None) -> PointCloud2:
    """Organized H x W `PointCloud2` from an H x W x 3 float32 point grid (NaN = invalid), PCL layout.

    With `rgb` (uint8 H x W x 3, RGB order) the cloud is PointXYZRGB: the colour is packed as
    0x00RRGGBB into the bits of a float32 `rgb` field at offset 16, point_step 32.
    """
    if points.ndim != 3 or points.shape[2] != 3:
        raise ValueError(f"points must be H x W x 3, got shape {points.shape}")
    return _build_cloud(points.shape[0], points.shape[1], header, rgb, lambda xyz: np.copyto(xyz, points))


def depth_to_cloud_msg(
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    header: Header,
    stride: int = 1,
    max_range: float | None = None,
    rgb: np.ndarray | None = None,
    discontinuity: float | None = None,
) -> PointCloud2:
    """`points_to_cloud_msg(depth_to_points(depth, intrinsics, stride, max_range, discontinuity=...),
    header, rgb)`, back-projecting straight into the message's data array (no intermediate point grid, no
    copy). `rgb` is the full-size image; `discontinuity` removes flying pixels (`depth_discontinuities`)."""
    height, width = -(-depth.shape[0] // stride), -(-depth.shape[1] // stride)
    return _build_cloud(
        height,
        width,
        header,
        None if rgb is None else rgb[::stride, ::stride],
        lambda xyz: depth_to_points(
            depth, intrinsics, stride, max_range, out=xyz, discontinuity=discontinuity
        ),
    )


def camera_info_to_intrinsics(msg: CameraInfo) -> CameraIntrinsics:
    """Intrinsics of a `CameraInfo`: from `P` when it is non-zero (rectified image), else from `K`.

    Raises ValueError for a zero-sized image, an all-zero K and P, non-finite K or P values, or
    non-finite / non-positive focals.
    """
    if msg.width <= 0 or msg.height <= 0:
        raise ValueError(f"camera_info has a zero image size ({msg.width}x{msg.height})")
    p = np.asarray(msg.p, dtype=np.float64)
    k = np.asarray(msg.k, dtype=np.float64)
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(k))):
        raise ValueError("camera_info has non-finite values in K or P")
    matrix = p if np.any(p != 0) else k
    if not np.any(matrix != 0):
        raise ValueError("camera_info has all-zero K and P (uncalibrated camera)")
    return CameraIntrinsics.from_K(matrix, msg.width, msg.height)


def scaled_camera_info(msg: CameraInfo, width: int, height: int, header: Header | None = None) -> CameraInfo:
    """A copy of `msg` for the image resized to `width` x `height`: K and P scaled, size updated.

    Uses `disdepth_core.geometry.scale_projection` (the pixel-centre convention of
    `CameraIntrinsics.scaled`). Distortion, R and the model are carried over; binning is reset and the
    ROI is cleared (full image), since both describe the original resolution.
    """
    if msg.width <= 0 or msg.height <= 0:
        raise ValueError(f"camera_info has a zero image size ({msg.width}x{msg.height})")
    sx = width / msg.width
    sy = height / msg.height
    return CameraInfo(
        header=header if header is not None else msg.header,
        height=int(height),
        width=int(width),
        distortion_model=msg.distortion_model,
        d=list(msg.d),
        k=scale_projection(np.asarray(msg.k, dtype=np.float64).reshape(3, 3), sx, sy).ravel(),
        r=np.asarray(msg.r, dtype=np.float64).copy(),
        p=scale_projection(np.asarray(msg.p, dtype=np.float64).reshape(3, 4), sx, sy).ravel(),
    )
