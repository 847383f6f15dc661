"""Association: stateless cost functions on (track, detection) index pairs, gating, and assignment.

Costs are computed only for candidate pairs (track box grown by ``candidate_pad`` overlapping the detection
box, same class), never for the full (n, m) matrix, so 1000 x 1000 frames stay cheap. A cost function takes
a :class:`PairInputs` and the :class:`TrackerConfig` and returns one cost per pair in [0, 1], ``inf`` where
a gate rejects the pair. ``COST_FUNCTIONS`` is the registry, with declared needs.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import linear_sum_assignment

from tracker.core.boxes import iou_pairs, overlapping_pairs
from tracker.core.kalman_filter import mahalanobis_sq
from tracker.core.registry import NEEDS_3D, NEEDS_EMBEDDINGS, Entry, Registry

if TYPE_CHECKING:
    from tracker.core.config import TrackerConfig

_EMPTY = np.zeros(0, np.int64)


@dataclass(frozen=True)
class PairInputs:
    """Everything a cost function may read, for pairs (rows[k] -> track, cols[k] -> detection)."""

    rows: np.ndarray
    cols: np.ndarray
    trk_boxes: np.ndarray  # (n, 4) predicted xyxy
    trk_box_z: np.ndarray  # (n, 4) predicted cxcywh
    trk_box_inv_var: np.ndarray  # (n, 4) inverse innovation variance per box axis (axes are independent)
    trk_pos: np.ndarray  # (n, 3)
    trk_pos_S_inv: np.ndarray  # (n, 3, 3)
    trk_has_pos: np.ndarray  # (n,)
    trk_emb: np.ndarray | None  # (n, D) unit vectors
    trk_has_emb: np.ndarray  # (n,)
    det_boxes: np.ndarray  # (m, 4) xyxy
    det_box_z: np.ndarray  # (m, 4) cxcywh
    det_pos: np.ndarray  # (m, 3), NaN rows
    det_has_pos: np.ndarray  # (m,)
    det_emb: np.ndarray | None  # (m, D) unit vectors
    det_has_emb: np.ndarray  # (m,)
    trk_cls: np.ndarray  # (n,)
    det_cls: np.ndarray  # (m,)

    def with_pairs(self, rows: np.ndarray, cols: np.ndarray) -> "PairInputs":
        new = copy.copy(self)  # dataclasses.replace re-runs __init__: 20 us per stage
        object.__setattr__(new, "rows", rows)
        object.__setattr__(new, "cols", cols)
        return new


# -- terms ------------------------------------------------------------------------------------------
def iou_distance(p: PairInputs) -> np.ndarray:
    return 1.0 - iou_pairs(p.trk_boxes[p.rows], p.det_boxes[p.cols])


def box_mahalanobis_sq(p: PairInputs) -> np.ndarray:
    diff = p.det_box_z[p.cols] - p.trk_box_z[p.rows]
    return np.einsum("ki,ki->k", diff * diff, p.trk_box_inv_var[p.rows])


def embedding_distance(p: PairInputs) -> tuple[np.ndarray, np.ndarray]:
    """Cosine distance (k,) and whether both sides have an embedding (k,)."""
    if p.trk_emb is None or p.det_emb is None or len(p.rows) == 0:
        return np.zeros(len(p.rows)), np.zeros(len(p.rows), bool)
    avail = p.trk_has_emb[p.rows] & p.det_has_emb[p.cols]
    dist = 1.0 - np.einsum("kd,kd->k", p.trk_emb[p.rows], p.det_emb[p.cols]).astype(np.float64)
    return np.where(avail, dist, 0.0), avail


def position_mahalanobis_sq(p: PairInputs) -> tuple[np.ndarray, np.ndarray]:
    """Squared 3D Mahalanobis distance (k,) and whether both sides have 3D (k,)."""
    avail = p.trk_has_pos[p.rows] & p.det_has_pos[p.cols]
    diff = np.where(avail[:, None], p.det_pos[p.cols] - p.trk_pos[p.rows], 0.0)
    return mahalanobis_sq(diff, p.trk_pos_S_inv[p.rows]), avail


# -- cost functions (registered) ------------------------------------------------------------------------
def iou_cost(p: PairInputs, cfg: "TrackerConfig") -> np.ndarray:
    """1 - IoU, gated by the 2D box Mahalanobis distance."""
    cost = iou_distance(p)
    return np.where(box_mahalanobis_sq(p) > cfg.gate_box_chi2, np.inf, cost)


def embedding_cost(p: PairInputs, cfg: "TrackerConfig") -> np.ndarray:
    """Cosine distance of embeddings; pairs without embeddings on both sides are gated."""
    dist, avail = embedding_distance(p)
    return np.where(avail & (dist <= cfg.embedding_gate), dist, np.inf)


def position_cost(p: PairInputs, cfg: "TrackerConfig") -> np.ndarray:
    """3D Mahalanobis distance normalised by its gate; pairs without 3D on both sides are gated."""
    d2, avail = position_mahalanobis_sq(p)
    return np.where(avail & (d2 <= cfg.gate_position_chi2), d2 / cfg.gate_position_chi2, np.inf)


def _weighted(p: PairInputs, cfg: "TrackerConfig", use_position: bool) -> np.ndarray:
    num = cfg.iou_weight * iou_distance(p)
    den = np.full(len(p.rows), cfg.iou_weight)
    gated = box_mahalanobis_sq(p) > cfg.gate_box_chi2
    e, e_ok = embedding_distance(p)
    num += cfg.embedding_weight * e
    den += cfg.embedding_weight * e_ok
    gated |= e_ok & (e > cfg.embedding_gate)
    if use_position:
        d2, p_ok = position_mahalanobis_sq(p)
        num += cfg.position_weight * np.where(p_ok, np.minimum(d2 / cfg.gate_position_chi2, 1.0), 0.0)
        den += cfg.position_weight * p_ok
        gated |= p_ok & (d2 > cfg.gate_position_chi2)
    cost = np.divide(num, den, out=np.ones_like(num), where=den > 0)
    return np.where(gated, np.inf, cost)


def fused_cost(p: PairInputs, cfg: "TrackerConfig") -> np.ndarray:
    """Weighted mean of (1 - IoU), embedding distance and normalised 3D distance over the terms both sides
    have; gated by the box and 3D Mahalanobis gates and the embedding gate."""
    return _weighted(p, cfg, use_position=True)


def iou_embedding_cost(p: PairInputs, cfg: "TrackerConfig") -> np.ndarray:
    """Weighted mean of (1 - IoU) and embedding distance, gated."""
    return _weighted(p, cfg, use_position=False)


COST_FUNCTIONS = Registry("cost function", (
    Entry("iou", iou_cost, frozenset(), iou_cost.__doc__),
    Entry("fused", fused_cost, frozenset(), fused_cost.__doc__),
    Entry("iou_embedding", iou_embedding_cost, frozenset({NEEDS_EMBEDDINGS}), iou_embedding_cost.__doc__),
    Entry("embedding", embedding_cost, frozenset({NEEDS_EMBEDDINGS}), embedding_cost.__doc__),
    Entry("position", position_cost, frozenset({NEEDS_3D}), position_cost.__doc__),
))


# -- candidates and assignment -------------------------------------------------------------------------
def candidate_pairs(trk_boxes: np.ndarray, det_boxes: np.ndarray, pad: float, trk_cls: np.ndarray,
                    det_cls: np.ndarray, across_classes: bool) -> tuple[np.ndarray, np.ndarray]:
    """Pairs whose track box, grown by ``pad`` of its size on each side, overlaps the detection box."""
    if len(trk_boxes) == 0 or len(det_boxes) == 0:
        return _EMPTY, _EMPTY
    w = (trk_boxes[:, 2] - trk_boxes[:, 0]) * pad
    h = (trk_boxes[:, 3] - trk_boxes[:, 1]) * pad
    grown = trk_boxes + np.stack([-w, -h, w, h], axis=1)
    rows, cols = overlapping_pairs(grown, det_boxes)
    if not across_classes:
        same = trk_cls[rows] == det_cls[cols]
        rows, cols = rows[same], cols[same]
    return rows, cols


def assign(rows: np.ndarray, cols: np.ndarray, cost: np.ndarray, max_cost: float) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost one-to-one matching over sparse pairs; pairs above max_cost (or inf) are never matched.

    Pairs that are the only candidate of both their row and their column are matched directly; the rest go
    to one Hungarian solve (scipy's linear_sum_assignment) on the sub-matrix of the rows and columns involved.
    Returns matched (rows, cols), sorted by row.
    """
    ok = np.isfinite(cost) & (cost <= max_cost)
    rows, cols, cost = rows[ok], cols[ok], cost[ok]
    if len(rows) == 0:
        return _EMPTY, _EMPTY
    single = (np.bincount(rows)[rows] == 1) & (np.bincount(cols)[cols] == 1)
    mr, mc = [rows[single]], [cols[single]]
    rest = ~single
    if rest.any():
        rr, cc, cst = rows[rest], cols[rest], cost[rest]
        ur, ri = np.unique(rr, return_inverse=True)
        uc, ci = np.unique(cc, return_inverse=True)
        big = 2.0 * max_cost + 1.0  # worse than any valid pair, so no valid match is traded for it
        M = np.full((len(ur), len(uc)), big)
        M[ri, ci] = cst
        a, b = linear_sum_assignment(M)
        keep = M[a, b] <= max_cost
        mr.append(ur[a[keep]])
        mc.append(uc[b[keep]])
    r, c = np.concatenate(mr), np.concatenate(mc)
    order = np.argsort(r, kind="stable")
    return r[order], c[order]


def linear_assignment(cost: np.ndarray, max_cost: float) -> tuple[np.ndarray, np.ndarray]:
    """Dense form of :func:`assign`: cost (n, m) with inf for gated pairs."""
    cost = np.asarray(cost, dtype=np.float64)
    if cost.size == 0:
        return _EMPTY, _EMPTY
    rows, cols = np.nonzero(np.isfinite(cost))
    return assign(rows, cols, cost[rows, cols], max_cost)
