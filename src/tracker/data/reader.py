"""Reading contract bags (MCAP or sqlite3): cameras, extrinsics, synchronised samples with ground truth.

Image topics may hold sensor_msgs/Image or sensor_msgs/CompressedImage (image_transport's compressed and
compressedDepth formats; pass their topics, e.g. ``Topics(color_image="/camera/color/image_raw/compressed")``):
both are decoded by tracker.data.messages.decode_image, the tracker node's decoder."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from tracker.common.geometry import CameraModel, Transform
from tracker.common.tf import extrinsics_from_edges, normalize_frame

from .bag import Bag, BagReadError, Closing
from .contract import CAMERAS, Topics
from .messages import (NS_PER_S, camera_info_to_model, detection_box, detection_center, detection_class,
                       detection_score, detection_size, decode_image, header_stamp_ns, stamp_to_ns, tf_edges)

__all__ = ["BagReader", "BagReadError", "GT2D", "GT3D", "Sample", "GT_STAMP_TOLERANCE_S", "header_stamp_ns",
           "stamp_ns", "camera_model_from_info"]

#: a ground-truth message belongs to the RGB frame whose stamp is within this many seconds
GT_STAMP_TOLERANCE_S = 2e-3


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


class BagReader(Closing):
    """Reads any contract bag; cameras or ground truth that the bag lacks are simply absent. Context manager."""

    def __init__(self, path: str | Path, topics: Topics = Topics()):
        self._bag = Bag(path)
        self.path = self._bag.path
        self.topics = topics
        self.typestore = self._bag.typestore
        self._cameras: dict | None = None
        self._extrinsics: dict | None = None

    # basics -----------------------------------------------------------------------------------------------
    def close(self) -> None:
        self._bag.close()

    @property
    def topics_present(self) -> frozenset:
        return self._bag.topics_present

    @property
    def duration(self) -> float:
        """Seconds between the first and the last message of the bag."""
        return self._bag.duration_ns / NS_PER_S

    @property
    def message_count(self) -> int:
        return self._bag.message_count

    def messages(self, topics: Iterable[str] | None = None) -> Iterator[tuple[str, int, object]]:
        """(topic, header stamp ns (bag time for messages without header), decoded message) in bag order."""
        for topic, stamp, _, msg in self._bag.decoded(topics):
            yield topic, stamp, msg

    # geometry ---------------------------------------------------------------------------------------------
    @property
    def cameras(self) -> dict[str, CameraModel]:
        """{camera name: CameraModel} from the first camera_info of each camera present; a camera whose
        camera_info cannot describe a camera (size 0, K = 0: uncalibrated) is absent, as the node ignores it."""
        if self._cameras is None:
            cams = {}
            for name in CAMERAS:
                msg = self._bag.first(self.topics.info(name))
                if msg is None:
                    continue
                try:
                    cams[name] = camera_info_to_model(msg)
                except ValueError:
                    continue
            self._cameras = cams
        return dict(self._cameras)

    def frame_ids(self) -> dict[str, str]:
        """{camera name: optical frame id}, from camera_info or else from the first image."""
        out = {n: c.frame_id for n, c in self.cameras.items() if c.frame_id}
        for name in CAMERAS:
            if name not in out:
                msg = self._bag.first(self.topics.image(name))
                if msg is not None:
                    out[name] = str(msg.header.frame_id)
        return out

    def static_transforms(self) -> dict[tuple[str, str], Transform]:
        """{(parent, child): T_parent_child} of every transform on the tf_static topic (frame ids without a
        leading '/')."""
        out = {}
        for _, _, msg in self.messages([self.topics.tf_static]):
            out.update(tf_edges(msg))
        return out

    @property
    def extrinsics(self) -> dict[str, Transform]:
        """{camera name: T_color_<name>} (identity for color), chaining tf_static edges in either direction
        (tracker.common.tf). Cameras without a path to the color frame are absent."""
        if self._extrinsics is None:
            frames = {n: normalize_frame(f) for n, f in self.frame_ids().items()}
            self._extrinsics = extrinsics_from_edges(self.static_transforms(), frames)
        return dict(self._extrinsics)

    # samples ----------------------------------------------------------------------------------------------
    @staticmethod
    def _nearest(stamps: np.ndarray, t: int, tol_ns: int) -> int | None:
        if stamps.size == 0:
            return None
        i = int(np.argmin(np.abs(stamps - t)))
        return i if abs(int(stamps[i]) - t) <= tol_ns else None

    def _plan(self, stamps: dict, max_offset_s: float) -> tuple[list, dict]:
        """Per emitted sample {role: index in its topic}, and how many samples use each (role, index)."""
        tol = {"thermal": int(max_offset_s * NS_PER_S), "depth": int(max_offset_s * NS_PER_S),
               "gt3d": int(GT_STAMP_TOLERANCE_S * NS_PER_S), "gt2d": int(GT_STAMP_TOLERANCE_S * NS_PER_S)}
        plan = []
        needed: dict[tuple[str, int], int] = {}
        for k in np.argsort(stamps["color"], kind="stable"):
            parts = {"color": int(k)}
            for role, tol_ns in tol.items():
                j = self._nearest(stamps[role], int(stamps["color"][k]), tol_ns)
                if j is not None:
                    parts[role] = j
            for key in parts.items():
                needed[key] = needed.get(key, 0) + 1
            plan.append(parts)
        return plan, needed

    def samples(self, max_offset_s: float = 0.05) -> Iterator[Sample]:
        """One :class:`Sample` per RGB frame in header-stamp order, with the nearest thermal and depth frames
        within ``max_offset_s`` (else None) and the ground truth stamped like the RGB frame."""
        t = self.topics
        roles = {"color": t.color_image, "thermal": t.thermal_image, "depth": t.depth_image,
                 "gt3d": t.gt_tracks, "gt2d": t.gt_tracks_2d}
        stamps = {r: np.asarray(self._bag.header_stamps(tp), dtype=np.int64) for r, tp in roles.items()}
        plan, needed = self._plan(stamps, max_offset_s)
        if not plan:
            return
        topic_role = {tp: r for r, tp in roles.items()}
        counters = {r: 0 for r in roles}
        loaded: dict[tuple[str, int], object] = {}
        nxt = 0
        for conn, _, raw in self._bag.raw(list(roles.values())):
            role = topic_role[conn.topic]
            idx = counters[role]
            counters[role] += 1
            if (role, idx) not in needed:
                continue
            loaded[(role, idx)] = self._convert(role, self._bag.decode(raw, conn))
            while nxt < len(plan) and all(k in loaded for k in plan[nxt].items()):
                yield self._assemble(plan[nxt], loaded, needed)
                nxt += 1

    @staticmethod
    def _assemble(parts: dict, loaded: dict, needed: dict) -> Sample:
        vals = {}
        for key in parts.items():
            vals[key[0]] = loaded[key]
            needed[key] -= 1
            if needed[key] == 0:
                del loaded[key]
        stamp, rgb, _ = vals["color"]
        thermal = vals.get("thermal")
        depth = vals.get("depth")
        return Sample(stamp=stamp, rgb=rgb, thermal=None if thermal is None else thermal[1],
                      thermal_encoding=None if thermal is None else thermal[2],
                      depth=None if depth is None else depth[1],
                      gt2d=vals.get("gt2d", []), gt3d=vals.get("gt3d", []),
                      thermal_stamp=None if thermal is None else thermal[0],
                      depth_stamp=None if depth is None else depth[0])

    def _convert(self, role: str, msg):
        """(stamp s, array, encoding) of an image role (sensor_msgs/Image or CompressedImage, decoded by
        tracker.data.messages.decode_image as the node does: the encoding is the Image's or the one the compressed
        data decoded to); [GT2D] / [GT3D] of a ground-truth role."""
        if role in CAMERAS:
            stamp = stamp_to_ns(msg.header.stamp) / NS_PER_S
            try:
                return (stamp, *decode_image(msg, role))
            except ValueError as e:
                raise BagReadError(f"{self.path}: {role} image at {stamp:.6f}: {e}") from e
        if role == "gt2d":
            return [GT2D(str(d.id), detection_class(d), detection_box(d), detection_score(d)) for d in msg.detections]
        return [GT3D(str(d.id), detection_class(d), detection_center(d), detection_size(d)) for d in msg.detections]


# names kept for callers of this module (the one implementation is tracker.data.messages)
stamp_ns = stamp_to_ns
camera_model_from_info = camera_info_to_model
