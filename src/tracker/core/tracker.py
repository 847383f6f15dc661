"""The tracker: orchestration only. Each frame runs five named stages:

    predict -> associate -> update -> prune -> spawn

Association is ByteTrack's two stages plus re-identification:
  1. high: every live track against detections with score >= high_score (cost ``cost_high``);
  2. low: confirmed tracks still unmatched against detections in [low_score, high_score) (``cost_low``);
  3. reid: lost tracks unseen <= reid_window_s against the remaining high detections, by the embedding bank,
     within a 3D reach of max_speed_m_s * time unseen when both sides have 3D.
All numbers come from :class:`TrackerConfig`; the math lives in motion/kalman_filter/matching.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from tracker.common.geometry import CameraModel, Transform
from tracker.core.boxes import xyxy_to_cxcywh
from tracker.core.config import SECTION, TrackerConfig
from tracker.core.embedding_memory import EmbeddingMemory, normalize
from tracker.core.matching import COST_FUNCTIONS, PairInputs, assign, candidate_pairs
from tracker.core.motion import MOTION_MODELS, POS_DIM
from tracker.core.registry import NEEDS_3D, NEEDS_EMBEDDINGS, Entry, Registry
from tracker.core.track import TrackTable
from tracker.core.types import Detections, Track, TrackState

#: per-class thresholds that set_score_thresholds changes on a live tracker (tracks kept)
SCORE_FIELDS = ("high_score", "low_score", "new_track_score")
_CONFIRMED, _TENTATIVE, _LOST = int(TrackState.CONFIRMED), int(TrackState.TENTATIVE), int(TrackState.LOST)


@dataclass(frozen=True)
class _Frame:
    """Detections of one frame, prepared for association."""

    dets: Detections
    box_z: np.ndarray  # (m, 4) cxcywh
    positions: np.ndarray  # (m, 3), NaN rows where no 3D
    has_pos: np.ndarray
    emb: np.ndarray | None  # (m, D) unit vectors
    has_emb: np.ndarray
    high: np.ndarray  # (m,) bool
    low: np.ndarray  # (m,) bool

    def __len__(self) -> int:
        return len(self.dets)


@dataclass
class _Matches:
    tracks: np.ndarray
    dets: np.ndarray


class Tracker:
    """Multi-object tracker over 2D boxes, optional 3D positions and optional embeddings (ROS-free).

    3D comes only from ``Detections.positions`` (tracker.pipeline.depth3d turns depth and depth-head distances
    into positions; ``Detections.distances`` is not read here). ``camera`` (the RGB camera model) is optional:
    with it, ego-motion also moves the 2D boxes. Registries can be replaced per tracker.
    """

    def __init__(self, config: TrackerConfig | None = None, camera: CameraModel | None = None, *,
                 motion_models: Registry = MOTION_MODELS, cost_functions: Registry = COST_FUNCTIONS):
        self.config = config if config is not None else TrackerConfig()
        self.camera = camera
        cfg = self.config
        self._motion = motion_models.get(cfg.motion_model, f"{SECTION}.motion_model").factory(cfg)
        self._cost_high = cost_functions.get(cfg.cost_high, f"{SECTION}.cost_high")
        self._cost_low = cost_functions.get(cfg.cost_low, f"{SECTION}.cost_low")
        params = cfg.class_params()
        self._set_score_arrays(params)
        self._max_unseen = np.array([p.max_unseen_s for p in params])
        self._max_speed = np.array([p.max_speed_m_s for p in params])
        self.reset()

    def _set_score_arrays(self, params) -> None:
        self._high_score = np.array([p.high_score for p in params])
        self._low_score = np.array([p.low_score for p in params])
        self._new_score = np.array([p.new_track_score for p in params])

    def set_score_thresholds(self, config: TrackerConfig) -> None:
        """Switch to ``config``, which may differ from the current one only in the per-class SCORE_FIELDS: every
        track is kept (a runtime parameter change). Not synchronised with update(): the caller serialises them."""
        old = self.config
        same_classes = {c: dataclasses.replace(p, **{f: getattr(old.classes[c], f) for f in SCORE_FIELDS})
                        for c, p in config.classes.items() if c in old.classes}
        if dataclasses.replace(config, classes=same_classes) != old:
            raise ValueError("only the per-class score thresholds "
                             f"({', '.join(SCORE_FIELDS)}) can change without a new Tracker")
        self.config = config
        self._set_score_arrays(config.class_params())

    def reset(self) -> None:
        """Forget every track and restart ids at 1 and the clock (a new run)."""
        self._next_id = 1
        self._stamp: float | None = None
        self._table = TrackTable.empty(EmbeddingMemory(self.config.embedding_momentum,
                                                       self.config.embedding_bank_size))

    @property
    def stamp(self) -> float | None:
        return self._stamp

    def update(self, stamp_s: float, detections: Detections, ego_motion: Transform | None = None,
               modalities: frozenset[str] = frozenset()) -> list[Track]:
        """Advance to ``stamp_s`` and correct with this frame's detections; returns every live track.

        ``ego_motion`` is T_prev_curr: the pose of the current camera frame in the previous camera frame
        (a static point p_prev is at ``ego_motion.inverse().apply(p_prev)`` now). Call on every frame, also
        with :meth:`Detections.empty`, so that tracks age.
        """
        dt = self._advance_clock(stamp_s)
        frame = self._prepare(detections)
        self._predict(dt, ego_motion)
        matches = self._associate(frame)
        self._update(frame, matches, modalities)
        self._prune()
        self._spawn(frame, matches, modalities)
        return self._report()

    # -- stages ------------------------------------------------------------------------------------------
    def _advance_clock(self, stamp_s: float) -> float:
        stamp_s = float(stamp_s)
        if not math.isfinite(stamp_s):
            raise ValueError(f"stamp must be finite, got {stamp_s}")
        if self._stamp is not None and stamp_s < self._stamp:
            raise ValueError(f"stamp went backwards ({stamp_s:.6f} s < {self._stamp:.6f} s); call reset() "
                             "after a time jump")
        dt = 0.0 if self._stamp is None else stamp_s - self._stamp
        self._stamp = stamp_s
        return dt

    def _prepare(self, dets: Detections) -> _Frame:
        m = len(dets)
        n_cls = len(self.config.class_names)
        if m and (dets.classes.min() < 0 or dets.classes.max() >= n_cls):
            raise ValueError(f"detection class index out of range 0..{n_cls - 1} ({list(self.config.class_names)})")
        positions = np.full((m, POS_DIM), np.nan) if dets.positions is None else dets.positions.copy()
        positions[~(positions[:, 2] > 0)] = np.nan
        has_pos = np.isfinite(positions).all(axis=1)
        emb, has_emb = None, np.zeros(m, bool)
        if dets.embeddings is not None:
            emb = normalize(dets.embeddings)
            has_emb = np.isfinite(emb).all(axis=1) & (np.abs(emb).sum(axis=1) > 0)
        frame = _Frame(dets, xyxy_to_cxcywh(dets.boxes), positions, has_pos, emb, has_emb,
                       high=dets.scores >= self._high_score[dets.classes],
                       low=(dets.scores >= self._low_score[dets.classes])
                       & (dets.scores < self._high_score[dets.classes]))
        for entry in (self._cost_high, self._cost_low):
            self._check_needs(entry, frame)
        return frame

    def _check_needs(self, entry: Entry, frame: _Frame) -> None:
        if len(frame) == 0:
            return
        if NEEDS_EMBEDDINGS in entry.needs and frame.emb is None:
            raise ValueError(f"cost function '{entry.name}' needs embeddings but the detections have none")
        if NEEDS_3D in entry.needs and frame.dets.positions is None:
            raise ValueError(f"cost function '{entry.name}' needs 3D but the detections have no positions")

    def _predict(self, dt: float, ego: Transform | None) -> None:
        t = self._table
        t.motion = self._motion.predict(t.motion, dt, t.class_id, ego, self.camera)

    def _associate(self, frame: _Frame) -> _Matches:
        t = self._table
        free_t = np.ones(len(t), bool)
        free_d = np.ones(len(frame), bool)
        pairs = self._pair_inputs(frame)
        stages = (
            (free_t, frame.high, self._cost_high, self.config.max_cost_high),
            (None, frame.low, self._cost_low, self.config.max_cost_low),
        )
        out_t, out_d = [], []
        for t_mask, d_mask, entry, max_cost in stages:
            if t_mask is None:
                t_mask = free_t & (t.state == _CONFIRMED)
            r, c = self._match_stage(pairs, t_mask & free_t, d_mask & free_d, entry, max_cost)
            free_t[r], free_d[c] = False, False
            out_t.append(r), out_d.append(c)
        r, c = self._reidentify(pairs, free_t, frame.high & free_d)
        out_t.append(r), out_d.append(c)
        return _Matches(np.concatenate(out_t), np.concatenate(out_d))

    def _update(self, frame: _Frame, m: _Matches, modalities: frozenset) -> None:
        t, cfg = self._table, self.config
        r, c = m.tracks, m.dets
        t.motion = self._motion.update(t.motion, r, frame.dets.boxes[c], frame.positions[c], t.class_id[r])
        if frame.emb is not None:
            use = frame.has_emb[c] & (frame.dets.scores[c] >= cfg.embedding_min_score)
            t.memory.update(r[use], frame.emb[c[use]])
        t.hits[r] += 1
        t.last_seen[r] = self._stamp
        t.score[r] = frame.dets.scores[c]
        t.det_index[:] = -1
        t.det_index[r] = c
        t.modalities[r] = modalities
        promote = (t.state[r] == _LOST) | ((t.state[r] == _TENTATIVE) & (t.hits[r] >= cfg.min_hits))
        t.state[r[promote]] = _CONFIRMED

    def _prune(self) -> None:
        t = self._table
        unseen = self._stamp - t.last_seen
        missed = unseen > 0
        t.state[missed & (t.state == _CONFIRMED)] = _LOST
        dead = ((t.state == _TENTATIVE) & (unseen > self.config.tentative_max_unseen_s)) | (
            (t.state == _LOST) & (unseen > self._max_unseen[t.class_id]))
        t.keep(~dead)

    def _spawn(self, frame: _Frame, m: _Matches, modalities: frozenset) -> None:
        free = np.ones(len(frame), bool)
        free[m.dets] = False
        cls = frame.dets.classes
        born = np.nonzero(free & frame.high & (frame.dets.scores >= self._new_score[cls]))[0]
        if len(born) == 0:
            return
        ids = np.arange(self._next_id, self._next_id + len(born), dtype=np.int64)
        self._next_id += len(born)
        state = TrackState.CONFIRMED if self.config.min_hits <= 1 else TrackState.TENTATIVE
        motion = self._motion.initiate(frame.dets.boxes[born], frame.positions[born], cls[born])
        self._table.append(ids, state, cls[born], frame.dets.scores[born], self._stamp, born, modalities, motion,
                           frame.emb[born] if frame.emb is not None else None, frame.has_emb[born])

    def _report(self) -> list[Track]:
        t = self._table
        if len(t) == 0:
            return []
        boxes = t.motion.boxes_xyxy()  # fresh arrays: rows handed out as views are never written again
        has_pos = t.motion.has_pos.tolist()
        pos = t.motion.pos_x[:, :POS_DIM].copy()
        vel = np.where(t.motion.has_pos[:, None], t.motion.pos_x[:, POS_DIM:], 0.0)
        cov = t.motion.pos_P.copy()
        age, unseen = (self._stamp - t.born).tolist(), (self._stamp - t.last_seen).tolist()
        names = self.config.class_names
        states = (TrackState.TENTATIVE, TrackState.CONFIRMED, TrackState.LOST)
        return [Track(tid, states[st], boxes[i], pos[i] if has_pos[i] else None, vel[i], cov[i], cid, names[cid],
                      score, age[i], unseen[i], hits, di, mods)
                for i, (tid, st, cid, score, hits, di, mods) in enumerate(zip(
                    t.ids.tolist(), t.state.tolist(), t.class_id.tolist(), t.score.tolist(), t.hits.tolist(),
                    t.det_index.tolist(), t.modalities))]

    # -- association helpers -------------------------------------------------------------------------------
    def _pair_inputs(self, frame: _Frame) -> PairInputs:
        s = self._table.motion
        box_z, box_inv_var = self._motion.box_innovation(s)
        pos, pos_S_inv = self._motion.position_innovation(s)
        mem = self._table.memory
        trk_emb = mem.smooth if mem.dim is not None and frame.emb is not None else None
        empty = np.zeros(0, np.int64)
        return PairInputs(empty, empty, s.boxes_xyxy(), box_z, box_inv_var, pos, pos_S_inv, s.has_pos,
                          trk_emb, mem.has, frame.dets.boxes, frame.box_z, frame.positions, frame.has_pos,
                          frame.emb, frame.has_emb, self._table.class_id, frame.dets.classes)

    def _match_stage(self, pairs: PairInputs, t_mask: np.ndarray, d_mask: np.ndarray, entry: Entry,
                     max_cost: float) -> tuple[np.ndarray, np.ndarray]:
        t_idx, d_idx = np.nonzero(t_mask)[0], np.nonzero(d_mask)[0]
        cfg = self.config
        r, c = candidate_pairs(pairs.trk_boxes[t_idx], pairs.det_boxes[d_idx], cfg.candidate_pad,
                               pairs.trk_cls[t_idx], pairs.det_cls[d_idx], cfg.match_across_classes)
        if len(r) == 0:
            return r, c
        p = pairs.with_pairs(t_idx[r], d_idx[c])
        return assign(p.rows, p.cols, entry.factory(p, cfg), max_cost)

    def _reidentify(self, pairs: PairInputs, free_t: np.ndarray, d_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t, cfg = self._table, self.config
        unseen = self._stamp - t.last_seen
        cand_t = np.nonzero(free_t & (t.state == _LOST) & (unseen <= cfg.reid_window_s) & t.memory.has)[0]
        cand_d = np.nonzero(d_mask & pairs.det_has_emb)[0]
        if len(cand_t) == 0 or len(cand_d) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        cost = t.memory.bank_distance(cand_t, pairs.det_emb[cand_d])
        if not cfg.match_across_classes:
            cost[t.class_id[cand_t][:, None] != pairs.det_cls[cand_d][None, :]] = np.inf
        both3d = t.motion.has_pos[cand_t][:, None] & pairs.det_has_pos[cand_d][None, :]
        reach = self._max_speed[t.class_id[cand_t]] * unseen[cand_t]
        dist = np.linalg.norm(pairs.det_pos[cand_d][None, :, :] - pairs.trk_pos[cand_t][:, None, :], axis=2)
        cost[both3d & ~(dist <= reach[:, None])] = np.inf
        rows, cols = np.nonzero(np.isfinite(cost))
        r, c = assign(rows, cols, cost[rows, cols], cfg.reid_max_distance)
        return cand_t[r], cand_d[c]

