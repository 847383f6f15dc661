"""Writing contract bags (rosbag2, MCAP by default or sqlite3) with typed helpers."""
from __future__ import annotations

import shutil

from pathlib import Path
from typing import Iterable, Mapping, NamedTuple

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer

from tracker.common.geometry import CameraModel, Transform

from .contract import CAMERA_INFO, COMPRESSED_IMAGE, DETECTION_2D_ARRAY, DETECTION_3D_ARRAY, IMAGE, TF_MESSAGE, Topics
from .encodings import numpy_to_image_fields
from .messages import NS_PER_S, split_ns
from .typestore import get_typestore

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
BAG_VERSION = 8


class Det3D(NamedTuple):
    """One 3D ground-truth/detection item: identity, class name, score, centre (3,) m, size (3,) m,
    orientation quaternion (x, y, z, w) in the message frame."""
    id: str
    cls: str
    center: np.ndarray
    size: np.ndarray
    quat: tuple = (0.0, 0.0, 0.0, 1.0)
    score: float = 1.0


class Det2D(NamedTuple):
    """One 2D item: identity, class name, box (x1, y1, x2, y2) px, score (visible fraction for GT)."""
    id: str
    cls: str
    box: tuple
    score: float = 1.0


def to_ns(stamp_s: float) -> int:
    return int(round(float(stamp_s) * NS_PER_S))


BAG_METADATA = "metadata.yaml"


def needs_render(path: str | Path) -> bool:
    """True when no complete bag is at ``path`` (rosbag2 writes metadata.yaml on close). A folder without it is
    what a killed writer leaves (an exception removes its bag, a SIGKILL cannot): it is removed, since the
    writer refuses an existing path, and the bag has to be written again."""
    path = Path(path)
    if (path / BAG_METADATA).is_file():
        return False
    if path.exists():
        shutil.rmtree(path)
    return True


class BagWriter:
    """Context manager writing one rosbag2 bag directory (which must not exist yet).

    ``stamp_s`` arguments are header stamps in seconds; the bag (receive) time defaults to the header stamp
    plus ``latency_s``."""

    def __init__(self, path: str | Path, storage: str = "mcap", latency_s: float = 0.0):
        if storage not in STORAGES:
            raise ValueError(f"unknown storage {storage!r}; valid: {', '.join(STORAGES)}")
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"bag path already exists: {self.path}")
        self.storage = storage
        self.latency_ns = to_ns(latency_s)
        self.typestore = get_typestore()
        self._writer = Writer(self.path, version=BAG_VERSION, storage_plugin=STORAGES[storage])
        self._connections: dict[str, object] = {}
        self._msgtypes: dict[str, str] = {}
        self._open = False

    # context management -------------------------------------------------------------------------------
    def open(self) -> "BagWriter":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer.open()
        self._open = True
        return self

    def close(self) -> None:
        if self._open:
            self._writer.close()
            self._open = False

    def __enter__(self) -> "BagWriter":
        return self.open()

    def __exit__(self, exc_type, exc, tb) -> None:
        """Close; a bag left by an exception is removed, so an interrupted write never looks like a complete
        bag (rosbag2's metadata.yaml is written by close either way)."""
        self.close()
        if exc_type is not None and self.path.is_dir():
            shutil.rmtree(self.path, ignore_errors=True)

    # generic --------------------------------------------------------------------------------------------
    def add_topic(self, topic: str, msgtype: str):
        """Declare ``topic`` (done by the first write otherwise; declared topics appear even when empty)."""
        if not self._open:
            raise RuntimeError("BagWriter is not open (use it as a context manager)")
        conn = self._connections.get(topic)
        if conn is None:
            conn = self._writer.add_connection(topic, msgtype, typestore=self.typestore)
            self._connections[topic] = conn
            self._msgtypes[topic] = msgtype
        elif self._msgtypes[topic] != msgtype:
            raise ValueError(f"topic {topic} already holds {self._msgtypes[topic]}, not {msgtype}")
        return conn

    def write_serialized(self, topic: str, msgtype: str, stamp_ns: int, raw: bytes) -> None:
        """Write CDR bytes (what a ROS 2 subscription with raw=True receives) on ``topic`` at bag time
        ``stamp_ns``."""
        self._writer.write(self.add_topic(topic, msgtype), int(stamp_ns), raw)

    def write(self, topic: str, msgtype: str, stamp_ns: int, msg) -> None:
        """Write ``msg`` (a typestore message instance) on ``topic`` at bag time ``stamp_ns``."""
        self.write_serialized(topic, msgtype, stamp_ns, self.typestore.serialize_cdr(msg, msgtype))

    def _bag_ns(self, stamp_s: float) -> int:
        return to_ns(stamp_s) + self.latency_ns

    # message builders -----------------------------------------------------------------------------------
    def _t(self, name: str):
        return self.typestore.types[name]

    def header(self, stamp_s: float, frame_id: str):
        sec, nanosec = split_ns(to_ns(stamp_s))
        Time = self._t("builtin_interfaces/msg/Time")
        return self._t("std_msgs/msg/Header")(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame_id)

    def image_msg(self, stamp_s: float, frame_id: str, array: np.ndarray, encoding: str):
        h, w, step, data = numpy_to_image_fields(array, encoding)
        return self._t(IMAGE)(header=self.header(stamp_s, frame_id), height=h, width=w, encoding=encoding,
                              is_bigendian=0, step=step, data=np.frombuffer(data, dtype=np.uint8))

    def compressed_image_msg(self, stamp_s: float, frame_id: str, fmt: str, data: bytes):
        """A sensor_msgs/CompressedImage (``fmt``, ``data`` as tracker.data.compressed.encode_compressed or
        encode_compressed_depth make them)."""
        return self._t(COMPRESSED_IMAGE)(header=self.header(stamp_s, frame_id), format=str(fmt),
                                         data=np.frombuffer(bytes(data), dtype=np.uint8))

    def camera_info_msg(self, stamp_s: float, cam: CameraModel):
        RegionOfInterest = self._t("sensor_msgs/msg/RegionOfInterest")
        D = np.asarray(cam.D, dtype=np.float64).reshape(-1)
        return self._t(CAMERA_INFO)(
            header=self.header(stamp_s, cam.frame_id), height=int(cam.height), width=int(cam.width),
            distortion_model=cam.distortion_model, d=D.copy(),
            k=np.asarray(cam.K, dtype=np.float64).reshape(9).copy(),
            r=np.eye(3).reshape(9), p=cam.P().reshape(12), binning_x=0, binning_y=0,
            roi=RegionOfInterest(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False))

    def _pose(self, t, quat):
        g = "geometry_msgs/msg/"
        return self._t(g + "Pose")(position=self._t(g + "Point")(x=float(t[0]), y=float(t[1]), z=float(t[2])),
                                   orientation=self._t(g + "Quaternion")(x=float(quat[0]), y=float(quat[1]),
                                                                          z=float(quat[2]), w=float(quat[3])))

    def _hypothesis(self, cls: str, score: float):
        g = "geometry_msgs/msg/"
        cov = self._t(g + "PoseWithCovariance")(pose=self._pose((0, 0, 0), (0, 0, 0, 1)), covariance=np.zeros(36))
        hyp = self._t("vision_msgs/msg/ObjectHypothesis")(class_id=str(cls), score=float(score))
        return self._t("vision_msgs/msg/ObjectHypothesisWithPose")(hypothesis=hyp, pose=cov)

    def detections_3d_msg(self, stamp_s: float, frame_id: str, items: Iterable[Det3D]):
        g = "geometry_msgs/msg/"
        header = self.header(stamp_s, frame_id)
        dets = []
        for it in items:
            it = Det3D(*it)
            box = self._t("vision_msgs/msg/BoundingBox3D")(
                center=self._pose(it.center, it.quat),
                size=self._t(g + "Vector3")(x=float(it.size[0]), y=float(it.size[1]), z=float(it.size[2])))
            dets.append(self._t("vision_msgs/msg/Detection3D")(header=header, results=[
                self._hypothesis(it.cls, it.score)], bbox=box, id=str(it.id)))
        return self._t(DETECTION_3D_ARRAY)(header=header, detections=dets)

    def detections_2d_msg(self, stamp_s: float, frame_id: str, items: Iterable[Det2D]):
        header = self.header(stamp_s, frame_id)
        dets = []
        for it in items:
            it = Det2D(*it)
            x1, y1, x2, y2 = (float(v) for v in it.box)
            center = self._t("vision_msgs/msg/Pose2D")(
                position=self._t("vision_msgs/msg/Point2D")(x=(x1 + x2) / 2, y=(y1 + y2) / 2), theta=0.0)
            box = self._t("vision_msgs/msg/BoundingBox2D")(center=center, size_x=x2 - x1, size_y=y2 - y1)
            dets.append(self._t("vision_msgs/msg/Detection2D")(header=header, results=[
                self._hypothesis(it.cls, it.score)], bbox=box, id=str(it.id)))
        return self._t(DETECTION_2D_ARRAY)(header=header, detections=dets)

    def tf_static_msg(self, stamp_s: float, transforms: Mapping[str, tuple[str, Transform]]):
        g = "geometry_msgs/msg/"
        out = []
        for child, (parent, T) in transforms.items():
            q = T.quat()
            tf = self._t(g + "Transform")(
                translation=self._t(g + "Vector3")(x=float(T.t[0]), y=float(T.t[1]), z=float(T.t[2])),
                rotation=self._t(g + "Quaternion")(x=q[0], y=q[1], z=q[2], w=q[3]))
            out.append(self._t(g + "TransformStamped")(header=self.header(stamp_s, parent), child_frame_id=child,
                                                       transform=tf))
        return self._t(TF_MESSAGE)(transforms=out)

    # typed helpers -----------------------------------------------------------------------------------------
    def write_image(self, topic: str, stamp_s: float, frame_id: str, array: np.ndarray, encoding: str) -> None:
        self.write(topic, IMAGE, self._bag_ns(stamp_s), self.image_msg(stamp_s, frame_id, array, encoding))

    def write_compressed_image(self, topic: str, stamp_s: float, frame_id: str, fmt: str, data: bytes) -> None:
        self.write(topic, COMPRESSED_IMAGE, self._bag_ns(stamp_s), self.compressed_image_msg(stamp_s, frame_id, fmt,
                                                                                             data))

    def write_camera_info(self, topic: str, stamp_s: float, camera: CameraModel) -> None:
        self.write(topic, CAMERA_INFO, self._bag_ns(stamp_s), self.camera_info_msg(stamp_s, camera))

    def write_tf_static(self, stamp_s: float, transforms: Mapping[str, tuple[str, Transform]],
                        topic: str = Topics.tf_static) -> None:
        """``transforms``: {child_frame: (parent_frame, T_parent_child)}."""
        self.write(topic, TF_MESSAGE, self._bag_ns(stamp_s), self.tf_static_msg(stamp_s, transforms))

    def write_tf(self, stamp_s: float, transforms: Mapping[str, tuple[str, Transform]],
                 topic: str = Topics.tf) -> None:
        """Time-stamped transforms on /tf (every one stamped ``stamp_s``): {child_frame: (parent_frame,
        T_parent_child)}."""
        self.write(topic, TF_MESSAGE, self._bag_ns(stamp_s), self.tf_static_msg(stamp_s, transforms))

    def write_detections_3d(self, topic: str, stamp_s: float, frame_id: str, items: Iterable[Det3D]) -> None:
        self.write(topic, DETECTION_3D_ARRAY, self._bag_ns(stamp_s),
                   self.detections_3d_msg(stamp_s, frame_id, items))

    def write_detections_2d(self, topic: str, stamp_s: float, frame_id: str, items: Iterable[Det2D]) -> None:
        self.write(topic, DETECTION_2D_ARRAY, self._bag_ns(stamp_s),
                   self.detections_2d_msg(stamp_s, frame_id, items))
