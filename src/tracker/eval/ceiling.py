"""What better boxes would be worth: the tracker inputs of a bag (tracker.eval.tune.BagInputs) with each detection
that matches a ground-truth box of its frame corrected towards that box, so that replaying the tracker on them
bounds what a better box regression (or fewer false positives) could give, before any training.

Modes (each detection matched one-to-one to a GT box of the same class, highest IoU first, at IoU >= min_iou):
  centre     the detection's box moved to the GT box's centre (its size kept)
  size       the detection's box given the GT box's size (its centre kept)
  snap       the detection's box replaced by the GT box (score, embedding and 3D kept)
  snap_drop  snap, and every unmatched detection removed (no false positives left)
Detections the GT does not match are kept as they are (but in snap_drop); missed people stay missed, so the
ceiling of these modes is a detector that finds what this one finds, with perfect boxes.

    python scripts/box_ceiling.py --bag-set config/tune_set.yaml --bag-dir build/tunebags --cache-dir build/tune_cache
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from tracker.core.boxes import cxcywh_to_xyxy, iou_matrix, xyxy_to_cxcywh
from tracker.eval import bagio
from tracker.eval.config import EvalConfig
from tracker.eval.tune import BagInputs

MODES = ("centre", "size", "snap", "snap_drop")


def _matches(boxes: np.ndarray, classes: np.ndarray, gt_boxes: np.ndarray, gt_classes: np.ndarray,
             min_iou: float) -> list[tuple[int, int]]:
    """One-to-one (detection, GT) pairs of the same class with IoU >= min_iou, maximising the summed IoU."""
    if not len(boxes) or not len(gt_boxes):
        return []
    m = iou_matrix(boxes, gt_boxes) * (classes[:, None] == gt_classes[None, :])
    rows, cols = linear_sum_assignment(-m)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if m[i, j] >= min_iou]


def _corrected_box(det: np.ndarray, gt: np.ndarray, mode: str) -> np.ndarray:
    d, g = xyxy_to_cxcywh(det[None])[0], xyxy_to_cxcywh(gt[None])[0]
    if mode == "centre":
        return cxcywh_to_xyxy(np.concatenate([g[:2], d[2:]])[None])[0]
    if mode == "size":
        return cxcywh_to_xyxy(np.concatenate([d[:2], g[2:]])[None])[0]
    return gt.astype(np.float64)


def corrected(inputs: BagInputs, mode: str, eval_cfg: EvalConfig, class_names: Sequence[str],
              min_iou: float) -> BagInputs:
    """``inputs`` with every detection corrected as ``mode`` says (module docstring); frames without a GT frame
    within the scoring's time tolerance are left as they are."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
    index = {n: i for i, n in enumerate(class_names)}
    tol_s = inputs.gt.frame_period_s(eval_cfg.match.default_period_s) * eval_cfg.match.max_offset_periods
    frame_of = bagio.align([f.stamp_ns for f in inputs.frames], inputs.gt.stamps_ns, tol_s)
    frames = []
    for f, k in zip(inputs.frames, frame_of):
        gts = inputs.gt.frames2d.get(k, []) if k is not None else []
        frames.append(replace(f, detections=_correct_frame(f.detections, gts, index, mode, min_iou)))
    return replace(inputs, frames=tuple(frames))


def _correct_frame(d, gts, index: dict, mode: str, min_iou: float):
    gt_boxes = np.array([o.box for o in gts], np.float64).reshape(-1, 4)
    gt_classes = np.array([index.get(o.cls, -1) for o in gts], np.int64)
    boxes = d.boxes.copy()
    keep = np.full(len(boxes), mode != "snap_drop")
    for i, j in _matches(boxes, d.classes, gt_boxes, gt_classes, min_iou):
        boxes[i] = _corrected_box(boxes[i], gt_boxes[j], mode)
        keep[i] = True

    def sel(a):
        return None if a is None else a[keep]
    return replace(d, boxes=boxes[keep], scores=d.scores[keep], classes=d.classes[keep],
                   embeddings=sel(d.embeddings), positions=sel(d.positions), distances=sel(d.distances))
