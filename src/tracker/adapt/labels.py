"""Pseudo-label rows (tracker.network.cache.LABEL_COLUMNS) from offline tracks.

A kept track's box -> a target row: class, identity = the track's index (so the embedding head learns the
offline identities), visibility 1, no range, weight = the track confidence mapped linearly from
``weight_zero_confidence`` (0) to ``weight_full_confidence`` (1), times ``filled_weight`` where interpolated.
A kept box weighing less than ``ignore_below_weight``, and every box of a dropped short-lived track, is an
ignore region instead: its box grown by ``ignore_margin``, where the student's heatmap loss is zero (neither
taught to fire nor to stay silent)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tracker.network.cache import LABEL_COLUMNS

from .config import LabelConfig
from .offline import OfflineTrack

NO_ID = -1  # identity of ignore rows (they are no target)
WEIGHT, IGNORE = LABEL_COLUMNS.index("weight"), LABEL_COLUMNS.index("ignore")


def confidence_weight(conf: float, cfg: LabelConfig) -> float:
    lo, hi = cfg.weight_zero_confidence, cfg.weight_full_confidence
    return float(np.clip((conf - lo) / (hi - lo), 0.0, 1.0))


def grow(boxes: np.ndarray, margin: float) -> np.ndarray:
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    return b + np.stack([-w, -h, w, h], 1) * margin


def _rows(frames, boxes, cls, ident, weight, ignore) -> np.ndarray:
    n = len(frames)
    return np.column_stack([np.asarray(frames, np.float64), np.asarray(boxes, np.float64).reshape(-1, 4),
                            np.full(n, cls), np.full(n, ident), np.ones(n), np.full(n, np.nan),
                            np.asarray(weight, np.float64), np.full(n, float(ignore))])


def label_rows(kept: list[OfflineTrack], dropped: list[OfflineTrack], cfg: LabelConfig) -> np.ndarray:
    """(M, 11) float32 rows sorted by frame (stable: tracks in order)."""
    parts = [np.zeros((0, len(LABEL_COLUMNS)))]
    for k, t in enumerate(kept):
        w = confidence_weight(t.confidence, cfg) * np.where(t.filled, cfg.filled_weight, 1.0)
        ok = w >= cfg.ignore_below_weight
        parts.append(_rows(t.frames[ok], t.boxes[ok], t.cls, k, w[ok], False))
        parts.append(_rows(t.frames[~ok], grow(t.boxes[~ok], cfg.ignore_margin), t.cls, NO_ID,
                           np.zeros(int((~ok).sum())), True))
    for t in dropped:
        parts.append(_rows(t.frames, grow(t.boxes, cfg.ignore_margin), t.cls, NO_ID, np.zeros(len(t.frames)), True))
    rows = np.concatenate(parts).astype(np.float32)
    return rows[np.argsort(rows[:, 0], kind="stable")]


def label_stats(rows: np.ndarray, kept: list[OfflineTrack], dropped: list[OfflineTrack], teacher_boxes: int,
                groups: tuple[str, ...]) -> dict:
    """Counts for the report: targets, interpolated ones, ignore regions, tracks, and cross-modal labels (a target
    seen by a modality subset's passes and not by another's)."""
    tgt = rows[rows[:, IGNORE] == 0]
    sup = np.concatenate([t.support[t.filled == 0] for t in kept]) if kept else np.zeros((0, len(groups)), bool)
    cross = {}
    for a, ga in enumerate(groups):
        for b, gb in enumerate(groups):
            if a != b and ga != "all" and gb != "all":
                cross[f"{ga}_not_{gb}"] = int((sup[:, a] & ~sup[:, b]).sum())
    return {"teacher_boxes": int(teacher_boxes), "targets": int(len(tgt)),
            "interpolated": int(sum(int(t.filled.sum()) for t in kept)),
            "ignore_regions": int((rows[:, IGNORE] > 0).sum()),
            "tracks_kept": len(kept), "tracks_dropped": len(dropped),
            "tracks_static": sum(t.dropped_as == "static" for t in dropped),
            "tracks_jumpy": sum(t.dropped_as == "jumpy" for t in dropped),
            "mean_weight": round(float(tgt[:, WEIGHT].mean()), 4) if len(tgt) else None, "cross_modal": cross}


def write_labels(path: Path, rows: np.ndarray) -> Path:
    """Write ``rows`` to ``path`` (.npy) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.npy")
    np.save(tmp, np.asarray(rows, np.float32))
    os.replace(tmp, path)
    return path
