"""sensor_msgs/Image fields <-> numpy arrays: the contract's encodings, and the colour formats camera drivers
publish (rgba8/bgra8, packed YUV 4:2:2, 8-bit Bayer), converted to RGB with cv2.cvtColor."""
from __future__ import annotations

import cv2
import numpy as np

from .contract import DEPTH_MM_PER_METRE

# encoding -> (numpy dtype, channels)
_LAYOUT = {
    "rgb8": (np.uint8, 3),
    "bgr8": (np.uint8, 3),
    "mono8": (np.uint8, 1),
    "8UC1": (np.uint8, 1),
    "mono16": (np.uint16, 1),
    "16UC1": (np.uint16, 1),
    "32FC1": (np.float32, 1),
    "rgba8": (np.uint8, 4),
    "bgra8": (np.uint8, 4),
    "uyvy": (np.uint8, 2),
    "yuv422": (np.uint8, 2),
    "yuyv": (np.uint8, 2),
    "yuv422_yuy2": (np.uint8, 2),
    "bayer_rggb8": (np.uint8, 1),
    "bayer_bggr8": (np.uint8, 1),
    "bayer_gbrg8": (np.uint8, 1),
    "bayer_grbg8": (np.uint8, 1),
}
SUPPORTED_ENCODINGS = tuple(_LAYOUT)

#: driver colour encodings -> the cv2.cvtColor code that gives RGB. Names as sensor_msgs/image_encodings.hpp:
#: yuv422 (deprecated name) = uyvy (fourcc UYVY: U Y0 V Y1), yuv422_yuy2 (deprecated) = yuyv (fourcc YUYV/YUY2:
#: Y0 U Y1 V). OpenCV names a Bayer pattern by the 2x2 block starting at pixel (1, 1), ROS by the one at (0, 0):
#: ROS rggb is OpenCV BG (cv_bridge's table).
_TO_RGB = {
    "rgba8": cv2.COLOR_RGBA2RGB,
    "bgra8": cv2.COLOR_BGRA2RGB,
    "uyvy": cv2.COLOR_YUV2RGB_UYVY,
    "yuv422": cv2.COLOR_YUV2RGB_UYVY,
    "yuyv": cv2.COLOR_YUV2RGB_YUY2,
    "yuv422_yuy2": cv2.COLOR_YUV2RGB_YUY2,
    "bayer_rggb8": cv2.COLOR_BayerBG2RGB,
    "bayer_bggr8": cv2.COLOR_BayerRG2RGB,
    "bayer_gbrg8": cv2.COLOR_BayerGR2RGB,
    "bayer_grbg8": cv2.COLOR_BayerGB2RGB,
}
#: encodings decoded to HxWx3 RGB by conversion (colour cameras only)
RGB_CONVERTED_ENCODINGS = tuple(_TO_RGB)
#: packed 4:2:2 encodings (two pixels share one U and one V: the width must be even)
_PACKED_422 = ("uyvy", "yuv422", "yuyv", "yuv422_yuy2")
#: channel order of the array numpy_to_image_fields takes for an encoding stored in another order
_STORED_ORDER = {"bgr8": [2, 1, 0], "bgra8": [2, 1, 0, 3]}


class EncodingError(ValueError):
    """An image encoding is unknown or its data does not match its declared size."""


def _layout(encoding: str):
    if encoding not in _LAYOUT:
        raise EncodingError(f"unsupported image encoding {encoding!r}; supported: {', '.join(_LAYOUT)}")
    return _LAYOUT[encoding]


def image_to_numpy(encoding: str, height: int, width: int, step: int, data, is_bigendian: bool = False
                   ) -> np.ndarray:
    """Array of an Image message's fields: rgb8/bgr8 and the :data:`RGB_CONVERTED_ENCODINGS` -> HxWx3 uint8 in
    RGB order; mono8 uint8; mono16/16UC1 uint16; 32FC1 float32. Rows may be padded (step > width * pixel
    size)."""
    dtype, ch = _layout(encoding)
    dt = np.dtype(dtype).newbyteorder(">" if is_bigendian else "<")
    height, width, step = int(height), int(width), int(step)
    row = width * ch * dt.itemsize
    buf = data.reshape(-1).view(np.uint8) if isinstance(data, np.ndarray) else np.frombuffer(data, np.uint8)
    if height < 0 or width < 0 or step < row:
        raise EncodingError(f"{encoding} image {width}x{height}: step {step} < {row} bytes per row")
    if buf.size < step * height:
        raise EncodingError(f"{encoding} image {width}x{height} step {step}: expected {step * height} bytes, "
                            f"got {buf.size}")
    rows = buf[: step * height].reshape(height, step)[:, :row]
    arr = np.ascontiguousarray(rows).view(dt).reshape((height, width, ch) if ch > 1 else (height, width))
    arr = arr.astype(dtype, copy=False)
    if encoding == "bgr8":
        arr = arr[..., ::-1]
    elif encoding in _TO_RGB:
        if encoding in _PACKED_422 and width % 2:
            raise EncodingError(f"{encoding} image {width}x{height}: packed YUV 4:2:2 needs an even width")
        try:
            arr = cv2.cvtColor(np.ascontiguousarray(arr), _TO_RGB[encoding])
        except cv2.error as e:
            raise EncodingError(f"{encoding} image {width}x{height} cannot be converted to RGB: {e}") from e
    return np.ascontiguousarray(arr)


def numpy_to_image_fields(array: np.ndarray, encoding: str) -> tuple[int, int, int, bytes]:
    """(height, width, step, data) of an Image message holding ``array``: RGB(A) channel order for rgb8/bgr8 and
    rgba8/bgra8 (bgr8/bgra8 are reordered), the stored layout for the others (yuv: (H, W, 2) bytes as packed,
    Bayer: the (H, W) mosaic). Little-endian."""
    dtype, ch = _layout(encoding)
    a = np.asarray(array)
    shape_ok = a.ndim == 3 and a.shape[2] == ch if ch > 1 else a.ndim == 2
    if not shape_ok:
        raise EncodingError(f"{encoding} needs an array of shape (H, W{', %d' % ch if ch > 1 else ''}), "
                            f"got {a.shape}")
    if a.dtype != dtype:
        raise EncodingError(f"{encoding} needs dtype {np.dtype(dtype).name}, got {a.dtype}")
    if encoding in _STORED_ORDER:
        a = a[..., _STORED_ORDER[encoding]]
    a = np.ascontiguousarray(a, dtype=np.dtype(dtype).newbyteorder("<"))
    h, w = a.shape[:2]
    return h, w, w * ch * a.itemsize, a.tobytes()


def depth_to_metres(array: np.ndarray, encoding: str) -> np.ndarray:
    """float32 metres with NaN for no data, from 16UC1 millimetres (0 = none) or 32FC1 metres."""
    a = np.asarray(array)
    if encoding in ("16UC1", "mono16"):
        m = a.astype(np.float32) / np.float32(DEPTH_MM_PER_METRE)
        m[a == 0] = np.nan
        return m
    if encoding == "32FC1":
        m = a.astype(np.float32, copy=True)
        m[~np.isfinite(m) | (m <= 0)] = np.nan
        return m
    raise EncodingError(f"{encoding!r} is not a depth encoding; expected 16UC1 (mm) or 32FC1 (m)")


def metres_to_depth(metres: np.ndarray, encoding: str) -> np.ndarray:
    """Depth image array in ``encoding`` from float metres (NaN or <= 0 = no data)."""
    m = np.asarray(metres, dtype=np.float32)
    valid = np.isfinite(m) & (m > 0)
    if encoding == "16UC1":
        mm = np.where(valid, np.rint(m * DEPTH_MM_PER_METRE), 0)
        return np.clip(mm, 0, 65535).astype(np.uint16)
    if encoding == "32FC1":
        return np.where(valid, m, np.float32(np.nan)).astype(np.float32)
    raise EncodingError(f"{encoding!r} is not a depth encoding; expected 16UC1 (mm) or 32FC1 (m)")
