"""Ground truth and predictions out of rosbag2 bags (ROS-free: rosbags + the suite's typestore), aligned on
the GT frames by header stamp: exact ns match first, else the nearest GT frame within
``MatchConfig.max_offset_periods`` of the median GT frame period.

GT frames are numbered from 1 in stamp order (so a bag's GT and a MOT gt.txt exported from it,
``tracker.data.motchallenge.export_bag_gt``, use the same frame numbers)."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from rosbags.rosbag2 import Reader

from tracker.data.contract import CAMERAS, Topics
from tracker.data.typestore import get_typestore

from .config import MatchConfig, ScoringConfig
from .scoring import Obj

NS_PER_S = 1_000_000_000
FIRST_FRAME = 1


class EvalDataError(ValueError):
    """A bag or file needed for the evaluation is missing or unreadable."""


@dataclass(frozen=True)
class OutputTopics:
    """Topics of the node suite's output bag (tracker.nodes.replay.replay_bag)."""
    tracks: str = "/tracker/tracks"
    tracks_2d: str = "/tracker/tracks_2d"
    detections_2d: str = "/tracker/detections_2d"
    diagnostics: str = "/diagnostics"


@dataclass
class GroundTruth:
    stamps_ns: np.ndarray  # (n,) header stamp of each GT frame; frame k (from 1) = stamps_ns[k - 1]
    frames2d: dict = field(default_factory=dict)  # frame -> [Obj]
    centers3d: dict = field(default_factory=dict)  # frame -> {id: (3,) metres}
    has2d: bool = False
    has3d: bool = False
    source: str = ""

    @property
    def num_frames(self) -> int:
        return int(len(self.stamps_ns))

    def frame_period_s(self, default_s: float) -> float:
        if len(self.stamps_ns) < 2:
            return default_s
        d = np.diff(np.sort(self.stamps_ns))
        d = d[d > 0]
        return float(np.median(d)) / NS_PER_S if d.size else default_s


@dataclass
class Predictions:
    frames: dict = field(default_factory=dict)  # GT frame -> [Obj] (tracks, with 3D position when known)
    detections: dict = field(default_factory=dict)  # GT frame -> [Obj] raw network detections (id "")
    latencies_s: list = field(default_factory=list)  # bag receive time - header stamp of each output message
    output_stamps_s: list = field(default_factory=list)  # header stamps of the 2D track messages
    unmatched_frames: int = 0  # output messages with no GT frame within the tolerance
    duplicate_frames: int = 0  # output messages for a GT frame that already had one
    topics: frozenset = frozenset()
    source: str = ""


# low-level reading --------------------------------------------------------------------------------------------
def _bag_dir(path: str | Path) -> Path:
    p = Path(path)
    if p.is_file() and (p.parent / "metadata.yaml").is_file():
        p = p.parent
    if not p.exists():
        raise EvalDataError(f"bag not found: {p}")
    if not (p / "metadata.yaml").is_file():
        raise EvalDataError(f"{p} is not a rosbag2 bag directory (no metadata.yaml)")
    return p


def _header_ns(raw) -> int:
    b = bytes(raw[:12])
    fmt = "<iI" if b[1] == 1 else ">iI"
    sec, nsec = struct.unpack_from(fmt, b, 4)
    return sec * NS_PER_S + nsec


def _stamp_ns(stamp) -> int:
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


class _Bag:
    def __init__(self, path: str | Path):
        self.path = _bag_dir(path)
        try:
            self.reader = Reader(self.path)
            self.reader.open()
        except Exception as e:  # rosbags raises several types for broken bags
            raise EvalDataError(f"cannot open bag {self.path}: {e}") from e
        self.conns = {}
        for c in self.reader.connections:
            self.conns.setdefault(c.topic, []).append(c)
        self.typestore = get_typestore()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.reader.close()

    def present(self) -> frozenset:
        return frozenset(t for t, cs in self.conns.items() if any(c.msgcount for c in cs))

    def raw(self, topics: Iterable[str]) -> Iterator:
        conns = [c for t in topics for c in self.conns.get(t, [])]
        return iter(()) if not conns else self.reader.messages(connections=conns)

    def decoded(self, topics: Iterable[str]) -> Iterator[tuple[str, int, int, object]]:
        """(topic, header stamp ns, bag time ns, message)."""
        for conn, t, raw in self.raw(topics):
            try:
                msg = self.typestore.deserialize_cdr(raw, conn.msgtype)
            except Exception as e:
                raise EvalDataError(f"{self.path}: cannot decode {conn.msgtype} on {conn.topic}: {e}") from e
            yield conn.topic, _stamp_ns(msg.header.stamp), int(t), msg

    def stamps(self, topic: str) -> np.ndarray:
        return np.sort(np.asarray([_header_ns(raw) for _, _, raw in self.raw([topic])], dtype=np.int64))


def _cls(det) -> str:
    return str(det.results[0].hypothesis.class_id) if len(det.results) else ""


def _score(det) -> float:
    return float(det.results[0].hypothesis.score) if len(det.results) else 1.0


def objs_2d(msg, is_gt: bool) -> list[Obj]:
    """Obj list of a vision_msgs/Detection2DArray (GT: score = visible fraction)."""
    out = []
    for d in msg.detections:
        cx, cy, w, h = d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.size_x, d.bbox.size_y
        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        if is_gt:
            out.append(Obj(str(d.id), _cls(d), box, 1.0, _score(d)))
        else:
            out.append(Obj(str(d.id), _cls(d), box, _score(d)))
    return out


def centers_3d(msg) -> dict:
    """{id: (3,) centre metres} of a vision_msgs/Detection3DArray."""
    return {str(d.id): np.array([d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.center.position.z])
            for d in msg.detections}


# input bags ---------------------------------------------------------------------------------------------------
def input_info(path: str | Path, topics: Topics = Topics()) -> dict:
    """What an input bag holds: modalities (cameras with images), GT availability, RGB frame count."""
    with _Bag(path) as b:
        present = b.present()
        mods = [c for c in CAMERAS if topics.image(c) in present]
        n_rgb = sum(c.msgcount for c in b.conns.get(topics.color_image, []))
        return {"path": str(b.path), "modalities": mods, "missing_modalities": [c for c in CAMERAS if c not in mods],
                "has_gt2d": topics.gt_tracks_2d in present, "has_gt3d": topics.gt_tracks in present,
                "rgb_frames": int(n_rgb)}


def rgb_stamps(path: str | Path, topics: Topics = Topics()) -> np.ndarray:
    with _Bag(path) as b:
        return b.stamps(topics.color_image)


def gt_from_bag(path: str | Path, topics: Topics = Topics(), match: MatchConfig = MatchConfig()) -> GroundTruth:
    """GT of a contract bag: 2D from /ground_truth/tracks_2d (frames = its messages), 3D from
    /ground_truth/tracks matched to the 2D frames by stamp (frames = 3D messages when there is no 2D GT)."""
    with _Bag(path) as b:
        msgs2d = sorted(((s, m) for _, s, _, m in b.decoded([topics.gt_tracks_2d])), key=lambda x: x[0])
        msgs3d = sorted(((s, m) for _, s, _, m in b.decoded([topics.gt_tracks])), key=lambda x: x[0])
    base = msgs2d if msgs2d else msgs3d
    stamps = np.asarray([s for s, _ in base], dtype=np.int64)
    gt = GroundTruth(stamps, has2d=bool(msgs2d), has3d=bool(msgs3d), source=f"bag:{Path(path).name}")
    for k, (_, m) in enumerate(msgs2d, start=FIRST_FRAME):
        gt.frames2d[k] = objs_2d(m, is_gt=True)
    if msgs3d:
        frame_of = align([s for s, _ in msgs3d], stamps, gt.frame_period_s(match.default_period_s) *
                         match.max_offset_periods)
        for (s, m), k in zip(msgs3d, frame_of):
            if k is not None:
                gt.centers3d[k] = centers_3d(m)
    return gt


def gt_from_mot(gt_file: str | Path, stamps_ns: np.ndarray | None, cfg: ScoringConfig = ScoringConfig(),
                fmt: str = "auto") -> GroundTruth:
    """GT from a MOTChallenge gt.txt; frame k is the k-th RGB frame (``stamps_ns`` sorted; None: no bag)."""
    from .motchallenge import num_frames, read_mot
    frames = read_mot(gt_file, is_gt=True, cfg=cfg, fmt=fmt)
    n = num_frames(frames)
    if stamps_ns is None:
        stamps_ns = np.arange(n, dtype=np.int64)
    elif n > len(stamps_ns):
        raise EvalDataError(f"{gt_file}: GT has frames up to {n} but the bag has only {len(stamps_ns)} RGB frames")
    gt = GroundTruth(np.asarray(stamps_ns, dtype=np.int64), has2d=True, source=f"mot:{Path(gt_file).name}")
    gt.frames2d = {k: frames.get(k, []) for k in range(FIRST_FRAME, len(gt.stamps_ns) + FIRST_FRAME)}
    return gt


# alignment ----------------------------------------------------------------------------------------------------
def align(stamps_ns: Iterable[int], ref_ns: np.ndarray, max_offset_s: float) -> list[int | None]:
    """GT frame (from 1) of each stamp: the exact ns match, else the nearest reference stamp within
    ``max_offset_s``, else None."""
    ref = np.asarray(ref_ns, dtype=np.int64)
    order = np.argsort(ref, kind="stable")
    sref = ref[order]
    exact = {int(s): int(i) for i, s in zip(order, sref)}
    tol = int(round(max_offset_s * NS_PER_S))
    out = []
    for s in stamps_ns:
        s = int(s)
        if s in exact:
            out.append(exact[s] + FIRST_FRAME)
            continue
        if sref.size == 0:
            out.append(None)
            continue
        j = int(np.searchsorted(sref, s))
        cands = [i for i in (j - 1, j) if 0 <= i < sref.size]
        best = min(cands, key=lambda i: abs(int(sref[i]) - s))
        out.append(int(order[best]) + FIRST_FRAME if abs(int(sref[best]) - s) <= tol else None)
    return out


# output bags --------------------------------------------------------------------------------------------------
def predictions_from_bag(path: str | Path, gt: GroundTruth, match: MatchConfig = MatchConfig(),
                         topics: OutputTopics = OutputTopics()) -> Predictions:
    """Tracks (2D boxes with ids, 3D centre by id from /tracker/tracks) and raw detections of an output bag,
    aligned on the GT frames."""
    tol_s = gt.frame_period_s(match.default_period_s) * match.max_offset_periods
    with _Bag(path) as b:
        present = b.present()
        m2d, m3d, mdet = [], [], []
        lat = []
        for topic, s, t, m in b.decoded([topics.tracks_2d, topics.tracks, topics.detections_2d]):
            if topic == topics.tracks_2d:
                m2d.append((s, m))
                lat.append((t - s) / NS_PER_S)
            elif topic == topics.tracks:
                m3d.append((s, m))
            else:
                mdet.append((s, m))
    pred = Predictions(latencies_s=lat, output_stamps_s=[s / NS_PER_S for s, _ in m2d], topics=present,
                       source=f"bag:{Path(path).name}")
    pos = {}
    for s, m in m3d:
        pos.setdefault(s, {}).update(centers_3d(m))
    pos_stamps = np.asarray(sorted(pos), dtype=np.int64)
    for (s, m), k in zip(m2d, align([s for s, _ in m2d], gt.stamps_ns, tol_s)):
        if k is None:
            pred.unmatched_frames += 1
            continue
        if k in pred.frames:
            pred.duplicate_frames += 1
            continue
        centres = {}
        if pos_stamps.size:
            j = align([s], pos_stamps, tol_s)[0]
            centres = pos[int(pos_stamps[j - FIRST_FRAME])] if j is not None else {}
        objs = []
        for o in objs_2d(m, is_gt=False):
            c = centres.get(o.id)
            objs.append(o._replace(position=None if c is None else tuple(float(v) for v in c)))
        pred.frames[k] = objs
    for (s, m), k in zip(mdet, align([s for s, _ in mdet], gt.stamps_ns, tol_s)):
        if k is not None and k not in pred.detections:
            pred.detections[k] = objs_2d(m, is_gt=False)
    return pred


def predictions_from_mot(path: str | Path, cfg: ScoringConfig = ScoringConfig(), fmt: str = "auto") -> Predictions:
    """Tracks from a MOT result file (frames = GT frame numbers; no 3D, no latency)."""
    from .motchallenge import read_mot
    return Predictions(frames=read_mot(path, is_gt=False, cfg=cfg, fmt=fmt), source=f"mot:{Path(path).name}")
