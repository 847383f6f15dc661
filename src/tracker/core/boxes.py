"""Box conversions and pairwise IoU on index pairs (numpy, vectorised, stateless)."""
from __future__ import annotations

import numpy as np


def xyxy_to_cxcywh(b: np.ndarray) -> np.ndarray:
    b = np.asarray(b, dtype=np.float64)
    return np.stack([(b[:, 0] + b[:, 2]) * 0.5, (b[:, 1] + b[:, 3]) * 0.5,
                     b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1)


def cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    hw, hh = b[:, 2] * 0.5, b[:, 3] * 0.5
    return np.stack([b[:, 0] - hw, b[:, 1] - hh, b[:, 0] + hw, b[:, 1] + hh], axis=1)


def iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of a[k] with b[k] for two (k, 4) xyxy arrays."""
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0.0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0.0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a + area_b - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense (n, m) IoU."""
    n, m = len(a), len(b)
    rows, cols = np.repeat(np.arange(n), m), np.tile(np.arange(m), n)
    return iou_pairs(a[rows], b[cols]).reshape(n, m)


def overlapping_pairs(a: np.ndarray, b: np.ndarray, dense_max_pairs: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) whose boxes a[i] and b[j] overlap (touching excluded), without an (n, m) matrix.

    b is sorted by x1; for each a[i] the j with x1 in (a.x1 - max width of b, a.x2) are the only ones that
    can overlap in x, found with two binary searches; those ranges are expanded and filtered exactly.
    Pairs come out sorted by (i, j), so downstream results are deterministic.
    """
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if n * m <= dense_max_pairs:  # small frames: one broadcast test is fewer numpy calls than the search
        ok = ((b[None, :, 0] < a[:, None, 2]) & (b[None, :, 2] > a[:, None, 0])
              & (b[None, :, 1] < a[:, None, 3]) & (b[None, :, 3] > a[:, None, 1]))
        return np.nonzero(ok)
    order = np.argsort(b[:, 0], kind="stable")
    x1s = b[order, 0]
    max_w = float(np.max(b[:, 2] - b[:, 0]))
    lo = np.searchsorted(x1s, a[:, 0] - max_w, side="right")
    hi = np.searchsorted(x1s, a[:, 2], side="left")
    counts = np.clip(hi - lo, 0, None)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rows = np.repeat(np.arange(n), counts)
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    cols = order[starts + np.arange(total)]
    ok = ((b[cols, 0] < a[rows, 2]) & (b[cols, 2] > a[rows, 0])
          & (b[cols, 1] < a[rows, 3]) & (b[cols, 3] > a[rows, 1]))
    rows, cols = rows[ok], cols[ok]
    sort = np.lexsort((cols, rows))
    return rows[sort], cols[sort]
