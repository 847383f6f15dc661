"""Pseudo labels against ground truth - for the report only, never for making labels.

The one module of tracker.adapt that reads an unlabelled bag's ground truth (a normal frame cache of the bag,
the same frames as the images-only cache the labels were made on). Per frame and class, labels are matched
greedily (highest weight first) to GT at IoU >= 0.5; GT less visible than 0.3 or lower than 8 input px is an
ignore region, as in the AP evaluation (tracker.network.metrics): a label on it is neither true nor false.
Precision = matched / counted labels, recall = matched / counted GT; the teacher's boxes are scored the same
way (their score as the order), to show what the tracker's filtering changed."""
from __future__ import annotations

import numpy as np

from tracker.network.metrics import EVAL_MIN_HEIGHT_PX, EVAL_MIN_VISIBILITY, iou_matrix

from .labels import IGNORE, WEIGHT

MATCH_IOU = 0.5


class PRCounter:
    """Matched / counted labels and GT over frames."""

    def __init__(self):
        self.tp = self.n_pred = self.n_gt = 0

    def add(self, boxes, order_key, classes, gt: np.ndarray) -> None:
        """One frame: predicted boxes (n, 4) with their order key and classes; GT rows (x1..y2, class, id, vis)."""
        boxes, classes = np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(classes, np.int64)
        for c in np.unique(np.concatenate([classes, gt[:, 4].astype(np.int64)])):
            g = gt[gt[:, 4] == c]
            ign = (g[:, 6] < EVAL_MIN_VISIBILITY) | ((g[:, 3] - g[:, 1]) < EVAL_MIN_HEIGHT_PX)
            k = np.flatnonzero(classes == c)
            k = k[np.argsort(-np.asarray(order_key)[k], kind="stable")]
            ious = iou_matrix(boxes[k], g[:, :4])
            used = np.zeros(len(g), bool)
            self.n_gt += int((~ign).sum())
            for r in range(len(k)):
                cand = np.where(~used & ~ign & (ious[r] >= MATCH_IOU), ious[r], -1.0)
                if cand.size and cand.max() >= 0:
                    used[int(cand.argmax())] = True
                    self.tp, self.n_pred = self.tp + 1, self.n_pred + 1
                elif not np.any(ign & (ious[r] >= MATCH_IOU)):
                    self.n_pred += 1

    def result(self) -> dict:
        return {"precision": round(self.tp / self.n_pred, 4) if self.n_pred else None,
                "recall": round(self.tp / self.n_gt, 4) if self.n_gt else None,
                "true_positives": self.tp, "counted": self.n_pred, "gt": self.n_gt}


def score_labels(rows: np.ndarray, teacher_frames, gt_cache) -> dict:
    """{"labels": PR of the target rows, "teacher": PR of the teacher's boxes} against ``gt_cache`` (a FrameCache
    of the same bag with its ground truth; frame k of both is the same image)."""
    lab, tea = PRCounter(), PRCounter()
    tgt = rows[rows[:, IGNORE] == 0]
    starts = np.searchsorted(tgt[:, 0], np.arange(len(gt_cache) + 1))
    for i in range(len(gt_cache)):
        gt = gt_cache.objects(i)
        r = tgt[starts[i]:starts[i + 1]]
        lab.add(r[:, 1:5], r[:, WEIGHT], r[:, 5], gt)
        if i < len(teacher_frames):
            fb = teacher_frames[i]
            tea.add(fb.boxes, fb.scores, fb.classes, gt)
    return {"labels": lab.result(), "teacher": tea.result()}


def gt_cache_of(source, cache_dir, width: int, height: int, stride: int, registration, storage: str):
    """The frame cache of ``source``'s bag with its ground truth, or None when the bag has none."""
    from dataclasses import replace

    from tracker.network.cache import FrameCache
    from tracker.network.sources import DataError, check_bag
    src = replace(source, ground_truth=True, labels=None)
    try:
        check_bag(src.path)
    except DataError:
        return None
    return FrameCache.from_sources([src], cache_dir, width, height, stride, registration, storage)
