"""Average precision (VOC-style, all-point interpolated, greedy matching by score at an IoU threshold) with
ignore regions: detections matched to an ignored ground truth (too occluded or too small) count as neither TP
nor FP, and ignored ground truth is not counted as missed."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tracker.common.config import ConfigError, param


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


class APAccumulator:
    def __init__(self, iou_threshold: float = 0.5):
        self.iou = iou_threshold
        self.scores: list[float] = []
        self.tp: list[bool] = []
        self.n_gt = 0

    def add(self, det_boxes, det_scores, gt_boxes, gt_ignore=None, det_ignore=None) -> None:
        """One frame. ``gt_ignore``: ignore regions; ``det_ignore``: detections that are not false positives
        when they match no counted GT (e.g. outside the size range being evaluated)."""
        det_boxes = np.asarray(det_boxes, np.float64).reshape(-1, 4)
        det_scores = np.asarray(det_scores, np.float64).reshape(-1)
        gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
        ign = np.zeros(len(gt_boxes), bool) if gt_ignore is None else np.asarray(gt_ignore, bool)
        det_ign = np.zeros(len(det_boxes), bool) if det_ignore is None else np.asarray(det_ignore, bool)
        self.n_gt += int((~ign).sum())
        order = np.argsort(-det_scores, kind="stable")
        ious = iou_matrix(det_boxes[order], gt_boxes)
        used = np.zeros(len(gt_boxes), bool)
        for r, d in enumerate(order):
            cand = np.where(~used & ~ign & (ious[r] >= self.iou), ious[r], -1.0)
            if cand.size and cand.max() >= 0:
                used[int(cand.argmax())] = True
                self.scores.append(float(det_scores[d]))
                self.tp.append(True)
            elif det_ign[d] or np.any(ign & (ious[r] >= self.iou)):
                continue  # on an ignored object, or an ignored detection: neither TP nor FP
            else:
                self.scores.append(float(det_scores[d]))
                self.tp.append(False)

    def ap(self) -> float:
        if self.n_gt == 0:
            return float("nan")
        if not self.scores:
            return 0.0
        order = np.argsort(-np.asarray(self.scores), kind="stable")
        tp = np.asarray(self.tp, float)[order]
        ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
        rec = ctp / self.n_gt
        prec = ctp / np.maximum(ctp + cfp, 1e-9)
        mrec = np.concatenate([[0.0], rec, [1.0]])
        mpre = np.concatenate([[0.0], prec, [0.0]])
        for i in range(len(mpre) - 2, -1, -1):
            mpre[i] = max(mpre[i], mpre[i + 1])
        i = np.flatnonzero(mrec[1:] != mrec[:-1])
        return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def average_precision(dets, gts, iou_threshold: float = 0.5) -> float:
    """dets: list per frame of (boxes, scores); gts: list per frame of (boxes, ignore)."""
    acc = APAccumulator(iou_threshold)
    for (db, ds), (gb, gi) in zip(dets, gts):
        acc.add(db, ds, gb, gi)
    return acc.ap()


EVAL_MIN_VISIBILITY = 0.3  # GT less visible than this is an ignore region in evaluation
EVAL_MIN_HEIGHT_PX = 8.0  # GT lower than this (network-input px; 16 px in a 640x480 image) is ignored


def _rounded(ap: float) -> float | None:
    """AP rounded for reports; None where there was no ground truth (NaN is not JSON)."""
    return None if math.isnan(ap) else round(ap, 4)


class ConditionAP:
    """AP@``iou`` per condition and class, plus ``all``. GT rows are ``(x1, y1, x2, y2, class, id, visibility)``
    in network-input pixels; GT less visible than ``EVAL_MIN_VISIBILITY`` or lower than ``EVAL_MIN_HEIGHT_PX``
    is an ignore region."""

    def __init__(self, class_names, iou: float = 0.5):
        self.class_names = tuple(class_names)
        self.iou = iou
        self.accs: dict = {}

    def add(self, condition: str, dets, gt: np.ndarray) -> None:
        """``dets``: decoded detections of one frame (``boxes``, ``scores``, ``classes``)."""
        for key in (condition, "all"):
            a = self.accs.setdefault(key, {c: APAccumulator(self.iou) for c in range(len(self.class_names))})
            for c in range(len(self.class_names)):
                g = gt[gt[:, 4] == c]
                ign = (g[:, 6] < EVAL_MIN_VISIBILITY) | ((g[:, 3] - g[:, 1]) < EVAL_MIN_HEIGHT_PX)
                k = dets.classes == c
                a[c].add(dets.boxes[k], dets.scores[k], g[:, :4], ign)

    def result(self) -> dict:
        """{condition: {class name: AP or None}}."""
        return {cond: {self.class_names[c]: _rounded(acc.ap()) for c, acc in a.items()}
                for cond, a in self.accs.items()}

    def pairs(self, condition: str = "all") -> dict:
        """{class id: (scores, is_tp)} of the detections of ``condition`` that count: matched ones are True,
        false positives False; those on an ignore region are left out (tracker.network.calibration fits these)."""
        return {c: (np.asarray(acc.scores, np.float64), np.asarray(acc.tp, bool))
                for c, acc in self.accs.get(condition, {}).items()}


@dataclass(frozen=True)
class HeightAPConfig:
    """config/network.yaml ``evaluation``: AP of one class by box-height bucket (tracker.network.evaluate)."""
    height_edges_px: tuple[float, ...] = param((24.0, 48.0, 96.0), unit="px (original image)", gt=0.0,
                                               doc="bucket edges of the box height, increasing: buckets < e0, "
                                                   "e0-e1, ..., > e_last (a lower edge belongs to its bucket)")
    cls: str = param("person", doc="class evaluated by height")
    iou: float = param(0.5, unit="1 (IoU)", gt=0.0, le=1.0, doc="match threshold of the AP")
    min_visibility: float = param(EVAL_MIN_VISIBILITY, unit="1 (visible fraction)", ge=0.0, le=1.0,
                                  doc="GT less visible than this is an ignore region (no minimum height here: "
                                      "the buckets are the sizes)")

    def validate(self) -> None:
        e = self.height_edges_px
        if not e or any(b <= a for a, b in zip(e, e[1:])):
            raise ConfigError(f"height_edges_px must be strictly increasing and not empty, got {list(e)}")


def height_bucket_names(edges) -> list[str]:
    """['<24', '24-48', '48-96', '>96'] for edges (24, 48, 96)."""
    e = list(edges)
    return [f"<{e[0]:g}"] + [f"{a:g}-{b:g}" for a, b in zip(e, e[1:])] + [f">{e[-1]:g}"]


class HeightAP:
    """AP of ``cfg.cls`` per box-height bucket (original image pixels), per condition and ``all``. In bucket b,
    GT outside b is an ignore region, and a detection outside b that matches no GT of b is not a false
    positive (as COCO's area ranges); GT less visible than ``cfg.min_visibility`` is ignored everywhere.
    Boxes are in network-input pixels; ``scale`` (input px per image px, the letterbox scale) converts."""

    def __init__(self, class_names, cfg: HeightAPConfig = HeightAPConfig()):
        if cfg.cls not in tuple(class_names):
            raise ConfigError(f"evaluation.cls {cfg.cls!r} is not a class of the model {list(class_names)}")
        self.cfg, self.cls = cfg, tuple(class_names).index(cfg.cls)
        self.edges = np.asarray(cfg.height_edges_px, np.float64)
        self.names = height_bucket_names(cfg.height_edges_px)
        self.accs: dict = {}

    def bucket_of(self, heights_px) -> np.ndarray:
        """Bucket index of each height (image px): 0 below the first edge, len(edges) from the last one."""
        return np.searchsorted(self.edges, np.asarray(heights_px, np.float64), side="right")

    def add(self, condition: str, dets, gt: np.ndarray, scale: float) -> None:
        """``dets``: decoded detections of one frame; ``gt``: its rows (x1, y1, x2, y2, class, id, visibility)."""
        g = gt[gt[:, 4] == self.cls]
        k = dets.classes == self.cls
        boxes, scores = dets.boxes[k], dets.scores[k]
        gb = self.bucket_of((g[:, 3] - g[:, 1]) / scale)
        db = self.bucket_of((boxes[:, 3] - boxes[:, 1]) / scale)
        hidden = g[:, 6] < self.cfg.min_visibility
        for key in (condition, "all"):
            accs = self.accs.setdefault(key, [APAccumulator(self.cfg.iou) for _ in self.names])
            for b, acc in enumerate(accs):
                acc.add(boxes, scores, g[:, :4], hidden | (gb != b), db != b)

    def result(self) -> dict:
        """{condition: {bucket: AP or None}}."""
        return {cond: {n: _rounded(a.ap()) for n, a in zip(self.names, accs)} for cond, accs in self.accs.items()}

    def gt_counts(self) -> dict:
        """{condition: {bucket: GT objects counted}}."""
        return {cond: {n: a.n_gt for n, a in zip(self.names, accs)} for cond, accs in self.accs.items()}
