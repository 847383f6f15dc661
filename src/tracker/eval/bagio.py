"""Ground truth and predictions out of rosbag2 bags (ROS-free: rosbags + the suite's typestore), aligned on
the GT frames by header stamp: exact ns match first, else the nearest GT frame within
``MatchConfig.max_offset_periods`` of the median GT frame period.

GT frames are numbered from 1 in stamp order (so a bag's GT and a MOT gt.txt exported from it,
``tracker.data.motchallenge.export_bag_gt``, use the same frame numbers)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from tracker.data import motchallenge as mot
from tracker.data.bag import Bag, BagReadError
from tracker.data.contract import CAMERAS, OutputTopics, Topics
from tracker.data.messages import NS_PER_S, detection_box, detection_center, detection_class, detection_score

from .config import MatchConfig, ScoringConfig
from .scoring import Obj

__all__ = ["EvalDataError", "BagReadError", "OutputTopics", "GroundTruth", "Predictions", "objs_2d", "centers_3d",
           "input_info", "rgb_stamps", "gt_from_bag", "gt_from_mot", "read_mot", "align", "predictions_from_bag",
           "predictions_from_mot"]

FIRST_FRAME = 1


class EvalDataError(ValueError):
    """A file needed for the evaluation does not fit the rest (bags themselves raise BagReadError)."""


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


def objs_2d(msg, is_gt: bool) -> list[Obj]:
    """Obj list of a vision_msgs/Detection2DArray (GT: score = visible fraction)."""
    if is_gt:
        return [Obj(str(d.id), detection_class(d), detection_box(d), 1.0, detection_score(d)) for d in msg.detections]
    return [Obj(str(d.id), detection_class(d), detection_box(d), detection_score(d)) for d in msg.detections]


def centers_3d(msg) -> dict:
    """{id: (3,) centre metres} of a vision_msgs/Detection3DArray."""
    return {str(d.id): detection_center(d) for d in msg.detections}


def _by_stamp(bag: Bag, topic: str) -> list[tuple[int, object]]:
    """[(header stamp ns, message)] of a topic, sorted by stamp."""
    return sorted(((s, m) for _, s, _, m in bag.decoded([topic])), key=lambda x: x[0])


# input bags ---------------------------------------------------------------------------------------------------
def input_info(path: str | Path, topics: Topics = Topics()) -> dict:
    """What an input bag holds: modalities (cameras with images), GT availability, RGB frame count."""
    with Bag(path) as b:
        present = b.topics_present
        mods = [c for c in CAMERAS if topics.image(c) in present]
        return {"path": str(b.path), "modalities": mods, "missing_modalities": [c for c in CAMERAS if c not in mods],
                "has_gt2d": topics.gt_tracks_2d in present, "has_gt3d": topics.gt_tracks in present,
                "rgb_frames": b.count(topics.color_image)}


def rgb_stamps(path: str | Path, topics: Topics = Topics()) -> np.ndarray:
    """Sorted header stamps (ns) of the RGB frames."""
    with Bag(path) as b:
        return np.sort(np.asarray(b.header_stamps(topics.color_image), dtype=np.int64))


def gt_from_bag(path: str | Path, topics: Topics = Topics(), match: MatchConfig = MatchConfig()) -> GroundTruth:
    """GT of a contract bag: 2D from /ground_truth/tracks_2d (frames = its messages), 3D from
    /ground_truth/tracks matched to the 2D frames by stamp (frames = 3D messages when there is no 2D GT)."""
    with Bag(path) as b:
        msgs2d, msgs3d = _by_stamp(b, topics.gt_tracks_2d), _by_stamp(b, topics.gt_tracks)
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
    frames = read_mot(gt_file, is_gt=True, cfg=cfg, fmt=fmt)
    n = mot.num_frames(frames)
    if stamps_ns is None:
        stamps_ns = np.arange(n, dtype=np.int64)
    elif n > len(stamps_ns):
        raise EvalDataError(f"{gt_file}: GT has frames up to {n} but the bag has only {len(stamps_ns)} RGB frames")
    gt = GroundTruth(np.asarray(stamps_ns, dtype=np.int64), has2d=True, source=f"mot:{Path(gt_file).name}")
    gt.frames2d = {k: frames.get(k, []) for k in range(FIRST_FRAME, len(gt.stamps_ns) + FIRST_FRAME)}
    return gt


def read_mot(path: str | Path, is_gt: bool, cfg: ScoringConfig = ScoringConfig(),
             fmt: str = "auto") -> dict[int, list[Obj]]:
    """{frame: [Obj]} of a MOT gt.txt (``is_gt``: flag 0 -> zero_marked, visibility) or tracker result file
    (column 7 = score), read by tracker.data.motchallenge; classes by its table, rows without a class
    ``cfg.mot_default_class``. Frames as in the file (from 1)."""
    out: dict[int, list[Obj]] = {}
    for r in mot.read_rows(path, fmt):
        cls = mot.class_name(r.cls, cfg.mot_default_class)
        obj = Obj(str(r.id), cls, r.box, 1.0, r.visibility, r.zero_marked) if is_gt else \
            Obj(str(r.id), cls, r.box, r.conf)
        out.setdefault(r.frame, []).append(obj)
    return out


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
    with Bag(path) as b:
        present = b.topics_present
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
    return Predictions(frames=read_mot(path, is_gt=False, cfg=cfg, fmt=fmt), source=f"mot:{Path(path).name}")
