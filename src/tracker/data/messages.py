"""Message fields -> numpy arrays and models (ROS-free, duck-typed).

Works on rosbags-deserialised messages and on rclpy messages alike (both have the ROS field names): the bag
reader, tracker-eval and the tracker node (tracker.nodes.conversions) all decode through these functions.

- time: ``stamp_to_ns``, ``stamp_to_s``, ``split_ns``; ``header_stamp_ns`` reads the stamp of a CDR-serialised
  message without deserialising it;
- sensor_msgs: ``image_to_array`` (per camera role: the contract's encodings and the colour formats of camera
  drivers), ``compressed_image_to_array`` (CompressedImage in image_transport's formats), ``decode_image``
  (either, with the encoding the pipeline needs), ``camera_info_to_model`` (with its distortion model);
- tf2_msgs: ``tf_transforms`` (stamped, for tracker.common.tf_buffer), ``tf_edges``;
- vision_msgs: ``detection_class``, ``detection_score``, ``detection_box`` (2D), ``detection_center`` /
  ``detection_size`` (3D).
"""
from __future__ import annotations

import struct

import numpy as np

from tracker.common.geometry import CameraModel, Transform
from tracker.common.tf import normalize_frame

from .compressed import decode_compressed
from .contract import ACCEPTED_ENCODINGS
from .encodings import RGB_CONVERTED_ENCODINGS, EncodingError, depth_to_metres, image_to_numpy

NS_PER_S = 1_000_000_000
#: CDR encapsulation header (4 bytes) + builtin_interfaces/Time (int32 sec, uint32 nanosec)
_CDR_HEADER_BYTES = 4
_STAMP_BYTES = 8
_CDR_LITTLE_ENDIAN = 1  # second byte of the encapsulation header: 0 = CDR_BE, 1 = CDR_LE


class MessageError(ValueError):
    """A message cannot be converted (too short, invalid values)."""


# ------------------------------------------------------------------------------------------------------ time
def stamp_to_ns(stamp) -> int:
    """Nanoseconds of a builtin_interfaces/Time."""
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def stamp_to_s(stamp) -> float:
    """Seconds of a builtin_interfaces/Time."""
    return int(stamp.sec) + int(stamp.nanosec) * 1e-9


def split_ns(ns: int) -> tuple[int, int]:
    """(sec, nanosec) of a time in nanoseconds (nanosec in [0, 1e9))."""
    ns = int(ns)
    return ns // NS_PER_S, ns % NS_PER_S


def header_stamp_ns(raw) -> int:
    """Header stamp (ns) of a CDR-serialised message whose first field is a std_msgs/Header."""
    b = bytes(raw[:_CDR_HEADER_BYTES + _STAMP_BYTES])
    if len(b) < _CDR_HEADER_BYTES + _STAMP_BYTES:
        raise MessageError("message too short to hold a header")
    fmt = "<iI" if b[1] == _CDR_LITTLE_ENDIAN else ">iI"
    sec, nsec = struct.unpack_from(fmt, b, _CDR_HEADER_BYTES)
    return sec * NS_PER_S + nsec


def with_header_stamp(raw, stamp_ns: int) -> bytes:
    """A copy of a CDR-serialised message (first field a std_msgs/Header) with its header stamp set to
    ``stamp_ns``; the rest of the bytes is unchanged."""
    header_stamp_ns(raw)  # checks the length
    out = bytearray(bytes(raw))
    fmt = "<iI" if out[1] == _CDR_LITTLE_ENDIAN else ">iI"
    struct.pack_into(fmt, out, _CDR_HEADER_BYTES, *split_ns(stamp_ns))
    return bytes(out)


def try_header_stamp_ns(raw) -> int | None:
    """:func:`header_stamp_ns`, or None for a message without a readable header."""
    try:
        return header_stamp_ns(raw)
    except (MessageError, struct.error):
        return None


# ---------------------------------------------------------------------------------------------------- images
def _byte_view(data) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return data
    try:
        return np.frombuffer(memoryview(data), np.uint8)
    except TypeError:  # a plain sequence of ints
        return np.asarray(data, dtype=np.uint8)


def accepted_encodings(role: str) -> tuple[str, ...]:
    """Image encodings decoded for camera ``role``: ``contract.ACCEPTED_ENCODINGS`` plus, for colour, the driver
    formats converted to RGB (rgba8/bgra8, YUV 4:2:2, Bayer)."""
    return ACCEPTED_ENCODINGS[role] + (RGB_CONVERTED_ENCODINGS if role == "color" else ())


def image_to_array(msg, role: str = "color") -> np.ndarray:
    """Decode a sensor_msgs/Image of camera ``role``: color -> HxWx3 uint8 RGB (mono8 replicated); depth ->
    float32 metres (NaN = none); thermal -> raw array (mono16 counts or mono8). Encodings outside
    :func:`accepted_encodings` or data of the wrong size raise EncodingError with a clear text."""
    enc = str(msg.encoding)
    allowed = accepted_encodings(role)
    if enc not in allowed:
        raise EncodingError(f"{role} image has encoding {enc!r}; expected one of {', '.join(allowed)}")
    arr = image_to_numpy(enc, msg.height, msg.width, msg.step, _byte_view(msg.data), bool(msg.is_bigendian))
    if role == "color" and arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if role == "depth":
        arr = depth_to_metres(arr, enc)
    return arr


def compressed_image_to_array(msg, role: str = "color") -> tuple[np.ndarray, str]:
    """Decode a sensor_msgs/CompressedImage of camera ``role`` (JPEG/PNG, image_transport's compressedDepth) to
    the arrays of :func:`image_to_array`, with the encoding they have (thermal: mono16 or mono8). Raises
    EncodingError (tracker.data.compressed)."""
    return decode_compressed(str(msg.format), _byte_view(msg.data), role)


def decode_image(msg, role: str = "color") -> tuple[np.ndarray, str]:
    """(array, encoding) of a sensor_msgs/Image or CompressedImage (told apart by their fields: ``encoding`` /
    ``format``) of camera ``role``; the encoding is the Image's, or the one the compressed data decoded to."""
    if hasattr(msg, "format") and not hasattr(msg, "encoding"):
        return compressed_image_to_array(msg, role)
    return image_to_array(msg, role), str(msg.encoding)


def camera_info_to_model(msg) -> CameraModel:
    """CameraModel of a sensor_msgs/CameraInfo; raises MessageError (a ValueError) when it cannot describe a
    camera (size 0, non-finite or non-positive focal lengths, e.g. an uncalibrated driver's K = 0; a distortion
    model other than plumb_bob, rational_polynomial or equidistant, or a D that does not fit its model)."""
    K = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    if msg.width <= 0 or msg.height <= 0:
        raise MessageError(f"camera_info has size {msg.width}x{msg.height}")
    if not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise MessageError(f"camera_info has invalid intrinsics K={K.reshape(-1).tolist()}")
    D = np.asarray(msg.d, dtype=np.float64).reshape(-1)
    if not np.isfinite(D).all():
        raise MessageError(f"camera_info has non-finite distortion coefficients D={D.tolist()}")
    try:
        return CameraModel(int(msg.width), int(msg.height), K, D, str(msg.header.frame_id),
                           str(msg.distortion_model))
    except ValueError as e:
        raise MessageError(str(e)) from e


# -------------------------------------------------------------------------------------------------------- tf
def tf_transforms(msg) -> list[tuple[str, str, float, Transform]]:
    """[(parent, child, stamp s, T_parent_child)] of a tf2_msgs/TFMessage, in message order (frame ids without a
    leading '/'); transforms with an invalid rotation or a non-finite translation are skipped."""
    out = []
    for ts in msg.transforms:
        tr, q = ts.transform.translation, ts.transform.rotation
        try:
            T = Transform.from_quat((tr.x, tr.y, tr.z), (q.x, q.y, q.z, q.w))
        except ValueError:
            continue
        if not np.isfinite(T.t).all():
            continue
        out.append((normalize_frame(ts.header.frame_id), normalize_frame(ts.child_frame_id),
                    stamp_to_s(ts.header.stamp), T))
    return out


def tf_edges(msg) -> dict[tuple[str, str], Transform]:
    """{(parent, child): T_parent_child} of a tf2_msgs/TFMessage (the last of each edge; see tf_transforms)."""
    return {(parent, child): T for parent, child, _, T in tf_transforms(msg)}


# ----------------------------------------------------------------------------------------------- vision_msgs
def detection_class(det) -> str:
    """class_id of the first hypothesis of a Detection2D/3D ('' without one)."""
    return str(det.results[0].hypothesis.class_id) if len(det.results) else ""


def detection_score(det, default: float = 1.0) -> float:
    """score of the first hypothesis of a Detection2D/3D (``default`` without one)."""
    return float(det.results[0].hypothesis.score) if len(det.results) else default


def detection_box(det) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) pixels of a Detection2D's bbox (centre +- size / 2)."""
    b = det.bbox
    cx, cy, w, h = b.center.position.x, b.center.position.y, b.size_x, b.size_y
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def detection_center(det) -> np.ndarray:
    """(3,) bbox centre (m) of a Detection3D."""
    p = det.bbox.center.position
    return np.array([p.x, p.y, p.z])


def detection_size(det) -> np.ndarray:
    """(3,) bbox size (m) of a Detection3D."""
    s = det.bbox.size
    return np.array([s.x, s.y, s.z])
