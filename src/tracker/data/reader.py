"""Reading contract bags (MCAP or sqlite3): cameras, extrinsics, synchronised samples with ground truth."""
from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from rosbags.rosbag2 import Reader

from tracker.common.geometry import CameraModel, Transform

from .contract import CAMERAS, Topics
from .encodings import depth_to_metres, image_to_numpy
from .typestore import get_typestore

#: a ground-truth message belongs to the RGB frame whose stamp is within this many seconds
GT_STAMP_TOLERANCE_S = 2e-3


class BagReadError(ValueError):
    """A bag cannot be opened or one of its messages cannot be decoded."""


@dataclass(frozen=True)
class GT2D:
    id: str
    cls: str
    box: tuple  # x1, y1, x2, y2 in RGB pixels (amodal)
    visibility: float


@dataclass(frozen=True)
class GT3D:
    id: str
    cls: str
    center: np.ndarray  # (3,) metres in the RGB optical frame
    size: np.ndarray  # (3,) metres


@dataclass
class Sample:
    stamp: float  # seconds, header stamp of the RGB frame
    rgb: np.ndarray | None  # HxWx3 uint8, RGB order
    thermal: np.ndarray | None  # raw array (uint16 mono16 counts or uint8 mono8)
    thermal_encoding: str | None
    depth: np.ndarray | None  # float32 metres, NaN = no data
    gt2d: list = field(default_factory=list)
    gt3d: list = field(default_factory=list)
    thermal_stamp: float | None = None
    depth_stamp: float | None = None


def header_stamp_ns(raw: bytes | np.ndarray) -> int:
    """Header stamp (ns) of a CDR-serialised message whose first field is a std_msgs/Header."""
    b = bytes(raw[:12])
    if len(b) < 12:
        raise BagReadError("message too short to hold a header")
    fmt = "<iI" if b[1] == 1 else ">iI"
    sec, nsec = struct.unpack_from(fmt, b, 4)
    return sec * 1_000_000_000 + nsec


def stamp_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def camera_model_from_info(msg) -> CameraModel:
    K = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    D = np.asarray(msg.d, dtype=np.float64).reshape(-1)
    if D.size < 5:
        D = np.concatenate([D, np.zeros(5 - D.size)])
    return CameraModel(int(msg.width), int(msg.height), K, D, str(msg.header.frame_id))


def _resolve_bag(path: Path) -> Path:
    if path.is_file() and (path.parent / "metadata.yaml").is_file():
        return path.parent
    return path


class BagReader:
    """Reads any contract bag; cameras or ground truth that the bag lacks are simply absent."""

    def __init__(self, path: str | Path, topics: Topics = Topics()):
        self.path = _resolve_bag(Path(path))
        self.topics = topics
        if not self.path.exists():
            raise BagReadError(f"bag not found: {self.path}")
        if not (self.path / "metadata.yaml").is_file():
            raise BagReadError(f"{self.path} is not a rosbag2 bag directory (no metadata.yaml)")
        try:
            self._reader = Reader(self.path)
            self._reader.open()
        except Exception as e:  # rosbags raises several types for broken bags
            raise BagReadError(f"cannot open bag {self.path}: {e}") from e
        self.typestore = get_typestore()
        self._conns: dict[str, list] = {}
        for c in self._reader.connections:
            self._conns.setdefault(c.topic, []).append(c)
        self._cameras: dict | None = None
        self._extrinsics: dict | None = None

    # basics -----------------------------------------------------------------------------------------------
    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> "BagReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def topics_present(self) -> frozenset:
        return frozenset(t for t, cs in self._conns.items() if any(c.msgcount for c in cs))

    @property
    def duration(self) -> float:
        """Seconds between the first and the last message of the bag."""
        return max(0, self._reader.duration - 1) / 1e9 if self._reader.message_count else 0.0

    @property
    def message_count(self) -> int:
        return int(self._reader.message_count)

    def _decode(self, raw, conn):
        try:
            return self.typestore.deserialize_cdr(raw, conn.msgtype)
        except Exception as e:
            raise BagReadError(f"{self.path}: cannot decode {conn.msgtype} on {conn.topic}: {e}") from e

    def _iter_raw(self, topics: Iterable[str]):
        conns = [c for t in topics for c in self._conns.get(t, [])]
        if not conns:
            return iter(())
        try:
            return self._reader.messages(connections=conns)
        except Exception as e:
            raise BagReadError(f"{self.path}: cannot read messages: {e}") from e

    def messages(self, topics: Iterable[str] | None = None) -> Iterator[tuple[str, int, object]]:
        """(topic, header stamp ns (bag time for messages without header), decoded message) in bag order."""
        topics = list(self._conns) if topics is None else list(topics)
        for conn, t_bag, raw in self._iter_raw(topics):
            msg = self._decode(raw, conn)
            header = getattr(msg, "header", None)
            yield conn.topic, (stamp_ns(header.stamp) if header is not None else int(t_bag)), msg

    def _first(self, topic: str):
        for _, _, msg in self.messages([topic]):
            return msg
        return None

    # geometry ---------------------------------------------------------------------------------------------
    @property
    def cameras(self) -> dict[str, CameraModel]:
        """{camera name: CameraModel} from the first camera_info of each camera present."""
        if self._cameras is None:
            cams = {}
            for name in CAMERAS:
                msg = self._first(self.topics.info(name))
                if msg is not None:
                    cams[name] = camera_model_from_info(msg)
            self._cameras = cams
        return dict(self._cameras)

    def frame_ids(self) -> dict[str, str]:
        """{camera name: optical frame id}, from camera_info or else from the first image."""
        out = {n: c.frame_id for n, c in self.cameras.items() if c.frame_id}
        for name in CAMERAS:
            if name not in out:
                for conn, _, raw in self._iter_raw([self.topics.image(name)]):
                    msg = self._decode(raw, conn)
                    out[name] = str(msg.header.frame_id)
                    break
        return out

    def static_transforms(self) -> dict[tuple[str, str], Transform]:
        """{(parent, child): T_parent_child} of every transform on the tf_static topic."""
        out = {}
        for _, _, msg in self.messages([self.topics.tf_static]):
            for ts in msg.transforms:
                tr, q = ts.transform.translation, ts.transform.rotation
                out[(str(ts.header.frame_id), str(ts.child_frame_id))] = Transform.from_quat(
                    (tr.x, tr.y, tr.z), (q.x, q.y, q.z, q.w))
        return out

    @property
    def extrinsics(self) -> dict[str, Transform]:
        """{camera name: T_color_<name>} (identity for color), chaining tf_static edges in either direction.
        Cameras without a path to the color frame are absent."""
        if self._extrinsics is None:
            frames = self.frame_ids()
            edges: dict[str, list[tuple[str, Transform]]] = {}
            for (parent, child), T in self.static_transforms().items():
                edges.setdefault(parent, []).append((child, T))
                edges.setdefault(child, []).append((parent, T.inverse()))
            out = {}
            root = frames.get("color")
            if root is not None:
                reach = {root: Transform.identity()}  # frame -> T_root_frame
                queue = deque([root])
                while queue:
                    f = queue.popleft()
                    for nxt, T in edges.get(f, []):
                        if nxt not in reach:
                            reach[nxt] = reach[f] @ T
                            queue.append(nxt)
                for name, fid in frames.items():
                    if fid in reach:
                        out[name] = reach[fid]
                out["color"] = Transform.identity()
            self._extrinsics = out
        return dict(self._extrinsics)

    # samples ----------------------------------------------------------------------------------------------
    def _index(self, topic: str) -> list[int]:
        """Header stamps (ns) of a topic's messages, in bag order, without decoding the payloads."""
        return [header_stamp_ns(raw) for _, _, raw in self._iter_raw([topic])]

    @staticmethod
    def _nearest(stamps: np.ndarray, t: int, tol_ns: int) -> int | None:
        if stamps.size == 0:
            return None
        i = int(np.argmin(np.abs(stamps - t)))
        return i if abs(int(stamps[i]) - t) <= tol_ns else None

    def samples(self, max_offset_s: float = 0.05) -> Iterator[Sample]:
        """One :class:`Sample` per RGB frame in header-stamp order, with the nearest thermal and depth frames
        within ``max_offset_s`` (else None) and the ground truth stamped like the RGB frame."""
        t = self.topics
        roles = {"rgb": t.color_image, "thermal": t.thermal_image, "depth": t.depth_image,
                 "gt3d": t.gt_tracks, "gt2d": t.gt_tracks_2d}
        stamps = {r: np.asarray(self._index(tp), dtype=np.int64) for r, tp in roles.items()}
        rgb_order = np.argsort(stamps["rgb"], kind="stable")
        tol = {"thermal": int(max_offset_s * 1e9), "depth": int(max_offset_s * 1e9),
               "gt3d": int(GT_STAMP_TOLERANCE_S * 1e9), "gt2d": int(GT_STAMP_TOLERANCE_S * 1e9)}
        plan = []  # per emitted sample: {role: index in topic}
        needed: dict[tuple[str, int], int] = {}  # (role, index) -> number of samples using it
        for k in rgb_order:
            parts = {"rgb": int(k)}
            for role in ("thermal", "depth", "gt3d", "gt2d"):
                j = self._nearest(stamps[role], int(stamps["rgb"][k]), tol[role])
                if j is not None:
                    parts[role] = j
            for key in parts.items():
                needed[key] = needed.get(key, 0) + 1
            plan.append(parts)
        if not plan:
            return
        topic_role = {tp: r for r, tp in roles.items()}
        counters = {r: 0 for r in roles}
        loaded: dict[tuple[str, int], object] = {}
        nxt = 0
        for conn, _, raw in self._iter_raw(list(roles.values())):
            role = topic_role[conn.topic]
            idx = counters[role]
            counters[role] += 1
            if (role, idx) not in needed:
                continue
            loaded[(role, idx)] = self._convert(role, self._decode(raw, conn))
            while nxt < len(plan) and all(k in loaded for k in plan[nxt].items()):
                yield self._assemble(plan[nxt], loaded, needed)
                nxt += 1

    def _assemble(self, parts: dict, loaded: dict, needed: dict) -> Sample:
        vals = {}
        for key in parts.items():
            vals[key[0]] = loaded[key]
            needed[key] -= 1
            if needed[key] == 0:
                del loaded[key]
        stamp, rgb = vals["rgb"]
        thermal = vals.get("thermal")
        depth = vals.get("depth")
        return Sample(stamp=stamp, rgb=rgb, thermal=None if thermal is None else thermal[1],
                      thermal_encoding=None if thermal is None else thermal[2],
                      depth=None if depth is None else depth[1],
                      gt2d=vals.get("gt2d", []), gt3d=vals.get("gt3d", []),
                      thermal_stamp=None if thermal is None else thermal[0],
                      depth_stamp=None if depth is None else depth[0])

    def _convert(self, role: str, msg):
        stamp = stamp_ns(msg.header.stamp) / 1e9
        if role in ("rgb", "thermal", "depth"):
            try:
                arr = image_to_numpy(msg.encoding, msg.height, msg.width, msg.step, msg.data, bool(msg.is_bigendian))
            except ValueError as e:
                raise BagReadError(f"{self.path}: {role} image at {stamp:.6f}: {e}") from e
            if role == "rgb":
                if arr.ndim == 2:  # a mono colour camera: replicate to 3 channels
                    arr = np.repeat(arr[..., None], 3, axis=2)
                return stamp, arr
            if role == "depth":
                return stamp, depth_to_metres(arr, msg.encoding)
            return stamp, arr, str(msg.encoding)
        if role == "gt2d":
            return [GT2D(str(d.id), _cls(d), (d.bbox.center.position.x - d.bbox.size_x / 2,
                                                d.bbox.center.position.y - d.bbox.size_y / 2,
                                                d.bbox.center.position.x + d.bbox.size_x / 2,
                                                d.bbox.center.position.y + d.bbox.size_y / 2),
                         float(d.results[0].hypothesis.score) if len(d.results) else 1.0)
                    for d in msg.detections]
        return [GT3D(str(d.id), _cls(d), np.array([d.bbox.center.position.x, d.bbox.center.position.y,
                                                   d.bbox.center.position.z]),
                     np.array([d.bbox.size.x, d.bbox.size.y, d.bbox.size.z])) for d in msg.detections]


def _cls(det) -> str:
    return str(det.results[0].hypothesis.class_id) if len(det.results) else ""
