"""ROS messages <-> numpy and pipeline structs (needs the rclpy message packages, not a running node).

Images are decoded with tracker.data.encodings (no cv_bridge): rgb8, bgr8, mono8, mono16, 16UC1 (mm), 32FC1 (m).
"""
from __future__ import annotations

import importlib
import math

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point, Vector3
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import ColorRGBA, Header
from tracker_msgs.msg import Track as TrackMsg
from tracker_msgs.msg import TrackArray
from vision_msgs.msg import (BoundingBox2D, Detection2D, Detection2DArray, Detection3D, Detection3DArray,
                             ObjectHypothesisWithPose)
from visualization_msgs.msg import Marker, MarkerArray

from tracker.common.geometry import CameraModel, Transform
from tracker.data.encodings import EncodingError, depth_to_metres, image_to_numpy, numpy_to_image_fields

__all__ = ["EncodingError", "stamp_to_s", "s_to_stamp", "image_to_array", "array_to_image", "camera_info_to_model",
           "tf_edges", "detections_2d_msg", "tracks_2d_msg", "tracks_3d_msg", "track_array_msg", "markers_msg",
           "diagnostics_msg", "msg_class", "from_rosbags"]


# ----------------------------------------------------------------------------------------------- time
def stamp_to_s(stamp) -> float:
    return int(stamp.sec) + int(stamp.nanosec) * 1e-9


def stamp_to_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> Time:
    ns = int(ns)
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def s_to_stamp(s: float) -> Time:
    return ns_to_stamp(int(round(s * 1e9)))


# ---------------------------------------------------------------------------------------------- images
def image_to_array(msg: Image, role: str = "color") -> np.ndarray:
    """Decode an Image: color -> HxWx3 uint8 RGB (mono8 replicated); depth -> float32 metres (NaN = none);
    thermal -> raw array (mono16 counts or mono8). Raises EncodingError with a clear text."""
    enc = str(msg.encoding)
    allowed = {"color": ("rgb8", "bgr8", "mono8"), "thermal": ("mono16", "mono8", "16UC1"),
               "depth": ("16UC1", "32FC1", "mono16")}[role]
    if enc not in allowed:
        raise EncodingError(f"{role} image has encoding {enc!r}; expected one of {', '.join(allowed)}")
    data = msg.data
    buf = data if isinstance(data, (bytes, bytearray)) else memoryview(data)
    arr = image_to_numpy(enc, msg.height, msg.width, msg.step, np.frombuffer(buf, np.uint8), bool(msg.is_bigendian))
    if role == "color" and arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if role == "depth":
        arr = depth_to_metres(arr, enc)
    return arr


def array_to_image(array: np.ndarray, encoding: str, stamp: Time, frame_id: str) -> Image:
    h, w, step, data = numpy_to_image_fields(array, encoding)
    msg = Image(height=h, width=w, encoding=encoding, is_bigendian=0, step=step)
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.data = data
    return msg


def camera_info_to_model(msg: CameraInfo) -> CameraModel:
    """CameraModel of a CameraInfo; raises ValueError when it cannot describe a camera."""
    K = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    if msg.width <= 0 or msg.height <= 0:
        raise ValueError(f"camera_info has size {msg.width}x{msg.height}")
    if not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f"camera_info has invalid intrinsics K={K.reshape(-1).tolist()}")
    D = np.asarray(msg.d, dtype=np.float64).reshape(-1)
    if D.size < 5:
        D = np.concatenate([D, np.zeros(5 - D.size)])
    return CameraModel(int(msg.width), int(msg.height), K, D, str(msg.header.frame_id))


def tf_edges(msg) -> dict[tuple[str, str], Transform]:
    """{(parent, child): T_parent_child} of a tf2_msgs/TFMessage."""
    out = {}
    for ts in msg.transforms:
        tr, q = ts.transform.translation, ts.transform.rotation
        try:
            out[(ts.header.frame_id.lstrip("/"), ts.child_frame_id.lstrip("/"))] = Transform.from_quat(
                (tr.x, tr.y, tr.z), (q.x, q.y, q.z, q.w))
        except ValueError:
            continue
    return out


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


def _color(track_id: int) -> ColorRGBA:
    h = (int(track_id) * 0.61803398875) % 1.0
    r, g, b = (abs(((h * 6 + k) % 6) - 3) - 1 for k in (0, 4, 2))
    clamp = lambda x: float(min(max(x, 0.0), 1.0))  # noqa: E731
    return ColorRGBA(r=clamp(r), g=clamp(g), b=clamp(b), a=0.8)


def markers_msg(tracks, sizes: dict, stamp: Time, frame_id: str, lifetime_s: float = 0.5) -> MarkerArray:
    """Per track with 3D: a box (CUBE), an id label (TEXT_VIEW_FACING) and a velocity arrow; a DELETEALL first
    so that markers of deleted tracks disappear."""
    out = MarkerArray()
    clear = Marker(header=_header(stamp, frame_id), action=Marker.DELETEALL)
    out.markers.append(clear)
    life_s = int(lifetime_s)
    life = (life_s, int((lifetime_s - life_s) * 1e9))
    for t in tracks:
        if not _finite(t.position):
            continue
        p = np.asarray(t.position, dtype=float)
        s = sizes.get(t.track_id)
        s = np.asarray(s, dtype=float) if _finite(s) else np.array([0.5, 1.7, 0.5])
        col = _color(t.track_id)
        for ns, mtype in (("box", Marker.CUBE), ("label", Marker.TEXT_VIEW_FACING), ("velocity", Marker.ARROW)):
            m = Marker(header=_header(stamp, frame_id), ns=ns, id=int(t.track_id) % 2**31, type=mtype,
                       action=Marker.ADD, color=col)
            m.lifetime.sec, m.lifetime.nanosec = life
            m.pose.orientation.w = 1.0
            if ns == "box":
                m.pose.position = Point(x=p[0], y=p[1], z=p[2])
                m.scale = Vector3(x=float(s[0]), y=float(s[1]), z=float(s[2]))
                m.color.a = 0.35
            elif ns == "label":
                m.pose.position = Point(x=p[0], y=p[1] - s[1] / 2 - 0.2, z=p[2])
                m.scale.z = 0.4
                m.text = f"{t.class_name} {t.track_id}"
                m.color.a = 1.0
            else:
                v = np.asarray(t.velocity, dtype=float) if _finite(t.velocity) else np.zeros(3)
                m.points = [Point(x=p[0], y=p[1], z=p[2]), Point(x=p[0] + v[0], y=p[1] + v[1], z=p[2] + v[2])]
                m.scale = Vector3(x=0.08, y=0.16, z=0.2)
            out.markers.append(m)
    return out


def diagnostics_msg(statuses, stamp: Time, hardware_id: str, prefix: str) -> DiagnosticArray:
    out = DiagnosticArray(header=_header(stamp, ""))
    for s in statuses:
        d = DiagnosticStatus(level=bytes([min(int(s.level), 3)]), name=f"{prefix}: {s.name}", message=str(s.message),
                             hardware_id=hardware_id)
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
