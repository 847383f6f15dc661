"""ROS messages <-> numpy and pipeline structs (needs the rclpy message packages, not a running node).

Decoding (time, images, camera_info, tf) is tracker.data.messages' (duck-typed: the same functions serve bags
read with rosbags), re-exported here; no cv_bridge: rgb8, bgr8, mono8, mono16, 16UC1 (mm), 32FC1 (m), and for
colour rgba8/bgra8, uyvy/yuyv (yuv422/yuv422_yuy2) and 8-bit Bayer; CompressedImage in image_transport's
compressed (JPEG/PNG) and compressedDepth formats (tracker.data.compressed). This module builds the rclpy
messages: the outputs, and input images (raw and compressed) for players and tests.
"""
from __future__ import annotations

import importlib
import math

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point, Vector3
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import ColorRGBA, Header
from tracker_msgs.msg import Track as TrackMsg
from tracker_msgs.msg import TrackArray
from vision_msgs.msg import (BoundingBox2D, Detection2D, Detection2DArray, Detection3D, Detection3DArray,
                             ObjectHypothesisWithPose)
from visualization_msgs.msg import Marker, MarkerArray

from tracker.data.compressed import encode_compressed, encode_compressed_depth
from tracker.data.encodings import EncodingError, numpy_to_image_fields
from tracker.data.messages import (NS_PER_S, camera_info_to_model, decode_image, image_to_array, split_ns,
                                   stamp_to_ns, stamp_to_s, tf_edges)

from .config import MarkersSection

__all__ = ["EncodingError", "stamp_to_s", "stamp_to_ns", "s_to_stamp", "ns_to_stamp", "image_to_array",
           "decode_image", "array_to_image", "array_to_compressed_image", "camera_info_to_model", "tf_edges", "detections_2d_msg", "tracks_2d_msg",
           "tracks_3d_msg", "track_array_msg", "markers_msg", "diagnostics_msg", "msg_class", "from_rosbags"]

GOLDEN_RATIO_CONJUGATE = 0.61803398875  # hue step between consecutive track ids (well-spread colours)
DIAGNOSTIC_MAX_LEVEL = 3  # diagnostic_msgs/DiagnosticStatus.STALE


# ----------------------------------------------------------------------------------------------- time
# stamp_to_s / stamp_to_ns (duck-typed, tracker.data.messages) are re-exported; these build rclpy Time messages
def ns_to_stamp(ns: int) -> Time:
    sec, nanosec = split_ns(ns)
    return Time(sec=sec, nanosec=nanosec)


def s_to_stamp(s: float) -> Time:
    return ns_to_stamp(int(round(s * NS_PER_S)))


# ---------------------------------------------------------------------------------------------- images
# image_to_array, camera_info_to_model and tf_edges are tracker.data.messages' (re-exported above)
def array_to_image(array: np.ndarray, encoding: str, stamp: Time, frame_id: str) -> Image:
    h, w, step, data = numpy_to_image_fields(array, encoding)
    msg = Image(height=h, width=w, encoding=encoding, is_bigendian=0, step=step)
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.data = data
    return msg


def array_to_compressed_image(array: np.ndarray, encoding: str, stamp: Time, frame_id: str,
                              transport: str = "compressed", codec: str = "jpeg", **options) -> CompressedImage:
    """A CompressedImage as image_transport's ``compressed`` (``codec`` jpeg|png) or ``compressedDepth``
    publisher makes it from ``array`` (RGB order for colour); ``options``: quality / png_level / depth_max_m ..."""
    if transport == "compressedDepth":
        fmt, data = encode_compressed_depth(array, encoding, **options)
    else:
        fmt, data = encode_compressed(array, encoding, codec, **options)
    msg = CompressedImage(format=fmt)
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.data = data
    return msg


# --------------------------------------------------------------------------------------------- outputs
def _header(stamp: Time, frame_id: str) -> Header:
    h = Header()
    h.stamp = stamp
    h.frame_id = frame_id
    return h


def _hyp(class_id: str, score: float) -> ObjectHypothesisWithPose:
    h = ObjectHypothesisWithPose()
    h.hypothesis.class_id = str(class_id)
    h.hypothesis.score = float(score)
    return h


def _bbox2d(box) -> BoundingBox2D:
    x1, y1, x2, y2 = (float(v) for v in box)
    b = BoundingBox2D()
    b.center.position.x = (x1 + x2) / 2
    b.center.position.y = (y1 + y2) / 2
    b.size_x = x2 - x1
    b.size_y = y2 - y1
    return b


def detections_2d_msg(dets, class_names, stamp: Time, frame_id: str) -> Detection2DArray:
    """Raw network detections (id = row index)."""
    out = Detection2DArray(header=_header(stamp, frame_id))
    for i in range(len(dets)):
        c = int(dets.classes[i])
        d = Detection2D(header=out.header, bbox=_bbox2d(dets.boxes[i]), id=str(i))
        d.results.append(_hyp(class_names[c] if 0 <= c < len(class_names) else str(c), dets.scores[i]))
        out.detections.append(d)
    return out


def tracks_2d_msg(tracks, stamp: Time, frame_id: str) -> Detection2DArray:
    out = Detection2DArray(header=_header(stamp, frame_id))
    for t in tracks:
        d = Detection2D(header=out.header, bbox=_bbox2d(t.box), id=str(t.track_id))
        d.results.append(_hyp(t.class_name, t.score))
        out.detections.append(d)
    return out


def _finite(v) -> bool:
    return v is not None and bool(np.all(np.isfinite(np.asarray(v, dtype=float))))


def tracks_3d_msg(tracks, sizes: dict, stamp: Time, frame_id: str, orientation_xyzw=(0.0, 0.0, 0.0, 1.0)
                  ) -> Detection3DArray:
    """One Detection3D per track with a 3D position: id = track id, bbox centre/size in metres, hypothesis
    pose = centre with the position covariance."""
    out = Detection3DArray(header=_header(stamp, frame_id))
    for t in tracks:
        if not _finite(t.position):
            continue
        d = Detection3D(header=out.header, id=str(t.track_id))
        h = _hyp(t.class_name, t.score)
        p = np.asarray(t.position, dtype=float)
        for pose in (d.bbox.center, h.pose.pose):
            pose.position.x, pose.position.y, pose.position.z = float(p[0]), float(p[1]), float(p[2])
            (pose.orientation.x, pose.orientation.y, pose.orientation.z,
             pose.orientation.w) = (float(v) for v in orientation_xyzw)
        cov = np.zeros((6, 6))
        c = np.asarray(t.covariance, dtype=float)
        if c.shape == (6, 6) and np.isfinite(c[:3, :3]).all():
            cov[:3, :3] = c[:3, :3]
        h.pose.covariance = cov.reshape(36).tolist()
        d.results.append(h)
        s = sizes.get(t.track_id)
        if _finite(s):
            d.bbox.size.x, d.bbox.size.y, d.bbox.size.z = (float(v) for v in s)
        out.detections.append(d)
    return out


def track_array_msg(tracks, sizes: dict, stamp: Time, frame_id: str) -> TrackArray:
    out = TrackArray(header=_header(stamp, frame_id))
    for t in tracks:
        m = TrackMsg(id=int(t.track_id), state=int(t.state), class_id=str(t.class_name), score=float(t.score),
                     detection_index=int(t.det_index if t.det_index is not None else -1),
                     age=float(t.age), time_since_update=float(t.time_since_update), hits=int(t.hits))
        if _finite(t.position):
            m.has_position = True
            p = np.asarray(t.position, dtype=float)
            m.position = Point(x=float(p[0]), y=float(p[1]), z=float(p[2]))
            v = np.asarray(t.velocity, dtype=float) if _finite(t.velocity) else np.zeros(3)
            m.velocity = Vector3(x=float(v[0]), y=float(v[1]), z=float(v[2]))
        c = np.asarray(t.covariance, dtype=float)
        if c.shape == (6, 6):
            m.covariance = np.nan_to_num(c, nan=0.0, posinf=1e12).reshape(36).tolist()
        s = sizes.get(t.track_id)
        if _finite(s):
            m.size = Vector3(x=float(s[0]), y=float(s[1]), z=float(s[2]))
        m.bbox_2d = _bbox2d(t.box)
        mods = t.modalities or frozenset()
        m.seen_rgb, m.seen_thermal, m.seen_depth = "color" in mods, "thermal" in mods, "depth" in mods
        out.tracks.append(m)
    return out


def _color(track_id: int, alpha: float) -> ColorRGBA:
    h = (int(track_id) * GOLDEN_RATIO_CONJUGATE) % 1.0
    r, g, b = (abs(((h * 6 + k) % 6) - 3) - 1 for k in (0, 4, 2))
    clamp = lambda x: float(min(max(x, 0.0), 1.0))  # noqa: E731
    return ColorRGBA(r=clamp(r), g=clamp(g), b=clamp(b), a=float(alpha))


def _marker(t, p: np.ndarray, s: np.ndarray, ns: str, mtype: int, stamp: Time, frame_id: str,
            cfg: MarkersSection) -> Marker:
    m = Marker(header=_header(stamp, frame_id), ns=ns, id=int(t.track_id) % 2**31, type=mtype, action=Marker.ADD,
               color=_color(t.track_id, cfg.arrow_alpha))
    m.lifetime.sec, m.lifetime.nanosec = split_ns(int(round(cfg.lifetime_s * NS_PER_S)))
    m.pose.orientation.w = 1.0
    if mtype == Marker.CUBE:
        m.pose.position = Point(x=p[0], y=p[1], z=p[2])
        m.scale = Vector3(x=float(s[0]), y=float(s[1]), z=float(s[2]))
        m.color.a = float(cfg.box_alpha)
    elif mtype == Marker.TEXT_VIEW_FACING:
        m.pose.position = Point(x=p[0], y=p[1] - s[1] / 2 - cfg.label_gap_m, z=p[2])
        m.scale.z = float(cfg.label_height_m)
        m.text = f"{t.class_name} {t.track_id}"
        m.color.a = 1.0  # opaque text
    else:
        v = np.asarray(t.velocity, dtype=float) if _finite(t.velocity) else np.zeros(3)
        m.points = [Point(x=p[0], y=p[1], z=p[2]), Point(x=p[0] + v[0], y=p[1] + v[1], z=p[2] + v[2])]
        a = cfg.arrow_scale_m
        m.scale = Vector3(x=float(a[0]), y=float(a[1]), z=float(a[2]))
    return m


def markers_msg(tracks, sizes: dict, stamp: Time, frame_id: str, cfg: MarkersSection = MarkersSection()
                ) -> MarkerArray:
    """Per track with 3D: a box (CUBE), an id label (TEXT_VIEW_FACING) and a velocity arrow; a DELETEALL first
    so that markers of deleted tracks disappear. Lifetime, default size and look: ``cfg`` (the node's
    ``markers:`` section)."""
    out = MarkerArray()
    out.markers.append(Marker(header=_header(stamp, frame_id), action=Marker.DELETEALL))
    for t in tracks:
        if not _finite(t.position):
            continue
        p = np.asarray(t.position, dtype=float)
        s = sizes.get(t.track_id)
        s = np.asarray(s if _finite(s) else cfg.default_size_m, dtype=float)
        for ns, mtype in (("box", Marker.CUBE), ("label", Marker.TEXT_VIEW_FACING), ("velocity", Marker.ARROW)):
            out.markers.append(_marker(t, p, s, ns, mtype, stamp, frame_id, cfg))
    return out


def diagnostics_msg(statuses, stamp: Time, hardware_id: str, prefix: str) -> DiagnosticArray:
    out = DiagnosticArray(header=_header(stamp, ""))
    for s in statuses:
        d = DiagnosticStatus(level=bytes([min(int(s.level), DIAGNOSTIC_MAX_LEVEL)]), name=f"{prefix}: {s.name}",
                             message=str(s.message), hardware_id=hardware_id)
        d.values = [KeyValue(key=str(k), value=str(v)) for k, v in s.values.items()]
        out.status.append(d)
    return out


# -------------------------------------------------------------------------------- generic rosbags -> rclpy
def msg_class(msgtype: str):
    """rclpy message class of 'pkg/msg/Name' (or 'pkg/Name')."""
    parts = msgtype.split("/")
    pkg, name = parts[0], parts[-1]
    return getattr(importlib.import_module(f"{pkg}.msg"), name)


def from_rosbags(obj, msgtype: str | None = None):
    """Convert a rosbags message object to the rclpy message of the same type, field by field (recursively);
    uint8/byte arrays become bytes. Used where a decoded message is needed; the player itself republishes the
    bag's serialized bytes unchanged."""
    cls = msg_class(msgtype or obj.__msgtype__)
    msg = cls()
    for name in cls.get_fields_and_field_types():
        v = getattr(obj, name)
        setattr(msg, name, _value(v))
    return msg


def _value(v):
    if hasattr(v, "__msgtype__"):
        return from_rosbags(v)
    if isinstance(v, np.ndarray):
        if v.dtype == np.uint8:
            return v.tobytes()
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    if isinstance(v, float) and math.isnan(v):
        return v
    return v
