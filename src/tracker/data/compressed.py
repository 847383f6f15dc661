"""sensor_msgs/CompressedImage <-> numpy (ROS-free), in image_transport's formats, with cv2.imdecode/imencode.

``format`` strings, as image_transport_plugins writes them:

- compressed_image_transport: ``"<encoding>; jpeg compressed <target>"`` or ``"<encoding>; png compressed
  <target>"``; <target> is ``bgr8`` (or ``bgr16``) for colour images, which were compressed in BGR channel order,
  and empty for mono images. Other drivers write just ``"jpeg"`` or ``"png"`` (BGR order, as OpenCV stores it).
  ``"... compressed rgb8"`` means the colour data was compressed in RGB order.
- compressed_depth_image_transport: ``"<encoding>; compressedDepth"`` (older) or ``"<encoding>; compressedDepth
  png|rvl"``; ``data`` = the 12-byte ``ConfigHeader`` (int32 ``format``, 0 = INV_DEPTH; float32 ``depthParam[2]``
  = quantisation A, B; native byte order, little-endian on every supported robot CPU) followed by the image.
  16UC1: the PNG holds the millimetres (the publisher zeroes readings above its ``depth_max``; the header's
  parameters are unused). 32FC1: the PNG holds the 16-bit inverse depth ``q = A / z + B`` (C truncation),
  ``A = z0 (z0 + 1)``, ``B = 1 - A / depth_max`` with z0 = ``depth_quantization``; decoded as ``z = A / (q - B)``,
  q = 0 = no reading (NaN, and every z >= depth_max). RVL-coded payloads are not supported (a clear error).

Decoding per camera role: color -> HxWx3 uint8 RGB (grey replicated, alpha dropped); thermal -> the 2-D raw
array with its encoding (uint16 = mono16 counts, which need a lossless PNG; uint8 = mono8); depth -> float32
metres (NaN = none). Anything else raises EncodingError with the reason.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

from .contract import DEPTH_MM_PER_METRE
from .encodings import EncodingError, depth_to_metres

#: compressed_depth_image_transport's ConfigHeader (compression_common.h): enum format, float depthParam[2]
COMPRESSED_DEPTH_HEADER = struct.Struct("<iff")
INV_DEPTH = 0  # ConfigHeader.format of every depth image its publisher writes
#: compressed_depth_image_transport's publisher defaults: depth_max (m), depth_quantization (m), png_level
DEPTH_MAX_M = 10.0
DEPTH_QUANTIZATION_M = 100.0
DEPTH_PNG_LEVEL = 9
#: compressed_image_transport's publisher defaults: jpeg_quality, png_level
JPEG_QUALITY = 95
PNG_LEVEL = 3
_UINT16_MAX = np.iinfo(np.uint16).max
_COLOR_CHANNELS = {3: (cv2.COLOR_BGR2RGB, None), 4: (cv2.COLOR_BGRA2RGB, cv2.COLOR_RGBA2RGB)}
_THERMAL_ENCODING = {np.dtype(np.uint16): "mono16", np.dtype(np.uint8): "mono8"}
_THERMAL_16BIT = ("mono16", "16UC1")


@dataclass(frozen=True)
class CompressedFormat:
    """What a CompressedImage ``format`` string says."""

    encoding: str  # the original image's encoding ('' when the format does not say, e.g. "jpeg")
    depth: bool  # compressed_depth_image_transport's format (ConfigHeader + image)
    codec: str  # jpeg | png | rvl | '' (unstated: imdecode recognises the data)
    rgb_order: bool  # colour data compressed in RGB channel order ("compressed rgb8")

    @staticmethod
    def parse(fmt: str) -> "CompressedFormat":
        text = str(fmt).strip()
        head, sep, tail = text.partition(";")
        if not sep:  # "jpeg", "png": no original encoding
            return CompressedFormat("", False, head.strip().lower(), False)
        words = tail.split()
        depth = "compressedDepth" in words
        codec = ""
        if depth:
            after = words[words.index("compressedDepth") + 1:]
            codec = after[0] if after else "png"  # the older publisher's format has no codec: png
        elif words:
            codec = words[0].lower()
        return CompressedFormat(head.strip(), depth, codec, "compressed rgb" in tail)


def _imdecode(data: np.ndarray, what: str) -> np.ndarray:
    try:
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    except cv2.error as e:
        raise EncodingError(f"{what}: cv2.imdecode failed: {e}") from e
    if img is None:
        raise EncodingError(f"{what}: cv2.imdecode could not decode {data.size} bytes (corrupt or truncated)")
    return img


def _color(img: np.ndarray, f: CompressedFormat) -> np.ndarray:
    if img.dtype != np.uint8:
        raise EncodingError(f"colour image decoded to {img.dtype} ({f.encoding or f.codec}); 8-bit expected")
    if img.ndim == 2:
        return np.repeat(img[..., None], 3, axis=2)
    if img.shape[2] not in _COLOR_CHANNELS:
        raise EncodingError(f"colour image decoded to {img.shape[2]} channels; 1, 3 or 4 expected")
    bgr_code, rgb_code = _COLOR_CHANNELS[img.shape[2]]
    code = rgb_code if f.rgb_order else bgr_code
    return np.ascontiguousarray(img if code is None else cv2.cvtColor(img, code))


def _thermal(img: np.ndarray, f: CompressedFormat) -> tuple[np.ndarray, str]:
    if img.ndim != 2 or img.dtype not in _THERMAL_ENCODING:
        raise EncodingError(f"thermal image decoded to {img.dtype} with shape {img.shape}; a single-channel "
                            "16-bit (mono16, PNG) or 8-bit image expected")
    inferred = _THERMAL_ENCODING[img.dtype]
    if f.encoding in _THERMAL_16BIT and inferred != "mono16":
        raise EncodingError(f"thermal {f.encoding} arrived as an 8-bit {f.codec or 'image'}: the radiometric "
                            "counts are lost; publish it with png compression")
    return img, (f.encoding if f.encoding in _THERMAL_16BIT and inferred == "mono16" else inferred)


def _depth_plain(img: np.ndarray, f: CompressedFormat) -> tuple[np.ndarray, str]:
    """Depth through compressed_image_transport (a 16-bit PNG of millimetres)."""
    if img.ndim != 2 or img.dtype != np.uint16:
        raise EncodingError(f"depth image decoded to {img.dtype} with shape {img.shape}; a 16-bit PNG of "
                            "millimetres expected (or use the compressedDepth transport)")
    return depth_to_metres(img, "16UC1"), "16UC1"


def _depth_compressed(data: np.ndarray, f: CompressedFormat) -> tuple[np.ndarray, str]:
    """Depth through compressed_depth_image_transport: ConfigHeader + PNG."""
    if f.codec != "png":
        raise EncodingError(f"compressedDepth {f.codec!r} is not supported (png only): set the publisher's "
                            "format parameter to png")
    if f.encoding not in ("16UC1", "32FC1"):
        raise EncodingError(f"compressedDepth of encoding {f.encoding!r}; 16UC1 or 32FC1 expected")
    n = COMPRESSED_DEPTH_HEADER.size
    if data.size <= n:
        raise EncodingError(f"compressedDepth message of {data.size} bytes: shorter than its {n}-byte header "
                            "plus an image")
    fmt, quant_a, quant_b = COMPRESSED_DEPTH_HEADER.unpack(data[:n].tobytes())
    q = _imdecode(data[n:], "compressedDepth")
    if q.ndim != 2 or q.dtype != np.uint16:
        raise EncodingError(f"compressedDepth image decoded to {q.dtype} with shape {q.shape}; 16-bit expected")
    if f.encoding == "16UC1":
        return depth_to_metres(q, "16UC1"), "16UC1"
    if fmt != INV_DEPTH or not (np.isfinite(quant_a) and np.isfinite(quant_b)) or quant_a <= 0:
        raise EncodingError(f"compressedDepth 32FC1 header is not an inverse-depth one: format {fmt}, "
                            f"A = {quant_a}, B = {quant_b}")
    qf = q.astype(np.float32)
    with np.errstate(divide="ignore"):
        z = np.float32(quant_a) / (qf - np.float32(quant_b))
    z[q == 0] = np.nan
    return depth_to_metres(z, "32FC1"), "32FC1"


def decode_compressed(fmt: str, data, role: str = "color") -> tuple[np.ndarray, str]:
    """(array, encoding) of a CompressedImage's ``format`` and ``data`` (bytes or uint8 array) for camera
    ``role``: see the module text. Raises EncodingError."""
    f = CompressedFormat.parse(fmt)
    buf = np.frombuffer(memoryview(data), np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1)
    buf = buf.view(np.uint8)
    if f.depth:
        if role != "depth":
            raise EncodingError(f"{role} image in the compressedDepth format {fmt!r}")
        return _depth_compressed(buf, f)
    if f.codec == "rvl":
        raise EncodingError(f"format {fmt!r}: RVL is not supported")
    img = _imdecode(buf, f"{role} image ({fmt!r})")
    if role == "color":
        return _color(img, f), "rgb8"
    if role == "thermal":
        return _thermal(img, f)
    if role == "depth":
        return _depth_plain(img, f)
    raise EncodingError(f"unknown camera role {role!r}")


# ---------------------------------------------------------------------------------------------- encoding
def encode_compressed(array: np.ndarray, encoding: str, codec: str = "jpeg", quality: int = JPEG_QUALITY,
                      png_level: int = PNG_LEVEL) -> tuple[str, bytes]:
    """(format, data) of a CompressedImage as compressed_image_transport publishes ``array`` (jpeg or png):
    an HxWx3 array in RGB order for a colour ``encoding`` (compressed in BGR order, target bgr8), the plain 2-D
    array for mono8/mono16/16UC1."""
    a = np.asarray(array)
    params = ([cv2.IMWRITE_JPEG_QUALITY, int(quality)] if codec == "jpeg"
              else [cv2.IMWRITE_PNG_COMPRESSION, int(png_level)])
    color = a.ndim == 3
    ok, buf = cv2.imencode(f".{'jpg' if codec == 'jpeg' else codec}",
                           cv2.cvtColor(a, cv2.COLOR_RGB2BGR) if color else a, params)
    if not ok:
        raise EncodingError(f"cv2.imencode could not write {encoding} as {codec}")
    return f"{encoding}; {codec} compressed {'bgr8' if color else ''}", buf.tobytes()


def encode_compressed_depth(depth: np.ndarray, encoding: str, depth_max_m: float = DEPTH_MAX_M,
                            depth_quantization_m: float = DEPTH_QUANTIZATION_M, png_level: int = DEPTH_PNG_LEVEL
                            ) -> tuple[str, bytes]:
    """(format, data) as compressed_depth_image_transport (png) publishes a 16UC1 (mm) or 32FC1 (m) image
    (as it does, 16UC1 readings above ``depth_max_m`` and 32FC1 ones at or above it become "no reading"; so do
    32FC1 readings <= 0 or NaN)."""
    d = np.asarray(depth)
    header = COMPRESSED_DEPTH_HEADER.pack(INV_DEPTH, 0.0, 0.0)
    if encoding == "16UC1":
        img = np.where(d > np.uint16(depth_max_m * DEPTH_MM_PER_METRE), 0, d).astype(np.uint16)
    elif encoding == "32FC1":
        z0, zmax = np.float32(depth_quantization_m), np.float32(depth_max_m)
        quant_a = z0 * (z0 + np.float32(1))
        quant_b = np.float32(1) - quant_a / zmax
        z = d.astype(np.float32)
        valid = np.isfinite(z) & (z > 0) & (z < zmax)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(valid, np.trunc(quant_a / z + quant_b), 0)
        img = np.clip(q, 0, _UINT16_MAX).astype(np.uint16)
        header = COMPRESSED_DEPTH_HEADER.pack(INV_DEPTH, float(quant_a), float(quant_b))
    else:
        raise EncodingError(f"compressedDepth needs 16UC1 or 32FC1, got {encoding!r}")
    ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, int(png_level)])
    if not ok:
        raise EncodingError("cv2.imencode could not write the depth PNG")
    return f"{encoding}; compressedDepth png", header + buf.tobytes()
