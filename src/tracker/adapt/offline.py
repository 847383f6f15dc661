"""Offline tracking over a whole bag: the tracker core (tracker.core.Tracker) run forwards and backwards over
the teacher's boxes, the two linkings merged, short-lived tracks dropped, short gaps filled.

Merge: every detection is a node; a forward track links its detections; a backward track then links its
consecutive detections too, unless that would put two boxes of one frame in one track (union-find with a frame
conflict check). So the backward pass restores what the forward pass missed - a track's first frames before
it was spawned, a break after an occlusion - without ever merging two people seen in the same frame.
A merged track detected in at least ``min_track_frames`` frames is kept; a gap of up to ``max_gap_frames``
frames inside it is filled by linear interpolation of its boxes (missed detections become labels). Track
confidence: the mean teacher score of its detected frames. Two plausibility rules drop low-confidence tracks
as well (:func:`drop_reason`): one standing still in the image for long (static structure), and one whose box
centre hops from frame to frame (:func:`jerk`: the linker joined clutter boxes; a person moves smoothly).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tracker.core.tracker import Tracker
from tracker.core.types import Detections

from .config import OfflineConfig
from .teacher import FrameBoxes


@dataclass
class OfflineTrack:
    """One merged track: per frame (sorted) its box; ``det``: the teacher box index, -1 where filled."""
    cls: int
    frames: np.ndarray  # (n,) int
    boxes: np.ndarray  # (n, 4)
    det: np.ndarray  # (n,) int, -1: interpolated
    scores: np.ndarray  # (n,) teacher score, NaN where interpolated
    support: np.ndarray  # (n, groups) bool, False where interpolated
    dropped_as: str = ""  # "", or why the track was dropped: "short" / "static" / "jumpy"

    @property
    def detected(self) -> int:
        return int((self.det >= 0).sum())

    @property
    def confidence(self) -> float:
        return float(np.nanmean(self.scores)) if self.detected else 0.0

    @property
    def filled(self) -> np.ndarray:
        return self.det < 0


def link(frames: list[FrameBoxes], cfg: OfflineConfig, backwards: bool = False) -> dict:
    """{(frame, box index): track id} of one pass of the core tracker over ``frames`` (every frame, also empty
    ones, so tracks age); ``backwards``: last frame first (the clock still runs forwards)."""
    trk = Tracker(cfg.tracker)
    order = range(len(frames) - 1, -1, -1) if backwards else range(len(frames))
    out = {}
    for step, f in enumerate(order):
        fb = frames[f]
        dets = Detections(fb.boxes, fb.scores, fb.classes, embeddings=fb.embeddings if len(fb) else None)
        for t in trk.update(step * cfg.frame_period_s, dets):
            if t.det_index >= 0:
                out[(f, t.det_index)] = t.track_id
    return out


class _Components:
    """Union-find over detections (frame, index) keeping each component's frames."""

    def __init__(self):
        self.parent: dict = {}
        self.frames: dict = {}

    def add(self, node) -> None:
        if node not in self.parent:
            self.parent[node], self.frames[node] = node, {node[0]}

    def root(self, node):
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, a, b) -> bool:
        """Join a's and b's components unless they share a frame; True when joined (or already one)."""
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            return True
        if self.frames[ra] & self.frames[rb]:
            return False
        self.parent[rb] = ra
        self.frames[ra] |= self.frames.pop(rb)
        return True


def _chains(assign: dict) -> list[list]:
    """Detections of each track of one pass, in frame order."""
    by_id: dict = {}
    for node, tid in assign.items():
        by_id.setdefault(tid, []).append(node)
    return [sorted(v) for _, v in sorted(by_id.items())]


def merge_passes(forward: dict, backward: dict, nodes) -> list[list]:
    """Components (lists of (frame, index), frame-sorted) of every detection in ``nodes`` (module docstring)."""
    comp = _Components()
    for n in nodes:
        comp.add(n)
    for assign in (forward, backward):
        for chain in _chains(assign):
            for a, b in zip(chain, chain[1:]):
                comp.union(a, b)
    groups: dict = {}
    for n in nodes:
        groups.setdefault(comp.root(n), []).append(n)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def _track(nodes: list, frames: list[FrameBoxes]) -> OfflineTrack:
    f = np.asarray([n[0] for n in nodes], np.int64)
    d = np.asarray([n[1] for n in nodes], np.int64)
    boxes = np.asarray([frames[a].boxes[b] for a, b in nodes], np.float64).reshape(-1, 4)
    cls = int(np.bincount([int(frames[a].classes[b]) for a, b in nodes]).argmax())
    support = np.asarray([frames[a].support[b] for a, b in nodes], bool)
    return OfflineTrack(cls, f, boxes, d, np.asarray([frames[a].scores[b] for a, b in nodes]), support)


def fill_gaps(t: OfflineTrack, max_gap: int) -> OfflineTrack:
    """``t`` with every gap of 1..max_gap missing frames filled by linearly interpolated boxes."""
    rows = [(t.frames[0], t.boxes[0], t.det[0], t.scores[0], t.support[0])]
    groups = t.support.shape[1]
    for k in range(1, len(t.frames)):
        f0, f1 = int(t.frames[k - 1]), int(t.frames[k])
        if 1 < f1 - f0 <= max_gap + 1:
            for f in range(f0 + 1, f1):
                a = (f - f0) / (f1 - f0)
                rows.append((f, (1 - a) * t.boxes[k - 1] + a * t.boxes[k], -1, np.nan, np.zeros(groups, bool)))
        rows.append((t.frames[k], t.boxes[k], t.det[k], t.scores[k], t.support[k]))
    f, b, d, s, g = zip(*rows)
    return OfflineTrack(t.cls, np.asarray(f, np.int64), np.asarray(b, np.float64), np.asarray(d, np.int64),
                        np.asarray(s, np.float64), np.asarray(g, bool).reshape(-1, groups))


def stands_still(t: OfflineTrack, cfg: OfflineConfig) -> bool:
    """True when ``t`` spans at least ``static_min_duration_s`` and its detected boxes' centres and heights all
    stay within ``static_max_motion`` x its median height of their medians (module docstring)."""
    if (t.frames[-1] - t.frames[0]) * cfg.frame_period_s < cfg.static_min_duration_s:
        return False
    b = t.boxes[t.det >= 0]
    h = b[:, 3] - b[:, 1]
    ref = max(float(np.median(h)), 1e-9)
    centre = np.stack([b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]], 1) / 2.0
    spread = max(float(np.abs(centre - np.median(centre, 0)).max()), float(np.abs(h - ref).max()))
    return spread <= cfg.static_max_motion * ref


def jerk(t: OfflineTrack) -> float:
    """Median over the track's detected boxes (in frame order) of |second difference of the box centre| in units
    of the box height: ~0 for smooth motion at any speed, large for a linker that hops between clutter boxes."""
    b = t.boxes[t.det >= 0]
    if len(b) < 3:
        return 0.0
    centre = np.stack([b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]], 1) / 2.0
    h = np.maximum(b[1:-1, 3] - b[1:-1, 1], 1e-9)
    return float(np.median(np.linalg.norm(np.diff(centre, 2, axis=0), axis=1) / h))


def drop_reason(t: OfflineTrack, cfg: OfflineConfig) -> str:
    """Why a merged track is no label ("short", "static", "jumpy"), or "" when it is kept."""
    if t.detected < cfg.min_track_frames:
        return "short"
    if t.confidence < cfg.static_max_confidence and stands_still(t, cfg):
        return "static"
    if t.confidence < cfg.jumpy_max_confidence and jerk(t) > cfg.jumpy_min_jerk:
        return "jumpy"
    return ""


def offline_tracks(frames: list[FrameBoxes], cfg: OfflineConfig) -> tuple[list[OfflineTrack], list[OfflineTrack]]:
    """(kept tracks, gaps filled; dropped tracks: short-lived ones and low-confidence ones standing still or
    hopping) of a bag's teacher boxes."""
    nodes = [(f, i) for f, fb in enumerate(frames) for i in range(len(fb))]
    comps = merge_passes(link(frames, cfg), link(frames, cfg, backwards=True), nodes)
    kept, dropped = [], []
    for t in (_track(c, frames) for c in comps):
        why = drop_reason(t, cfg)
        if why:
            dropped.append(replace(t, dropped_as=why))
        else:
            kept.append(fill_gaps(t, cfg.max_gap_frames))
    return kept, dropped
