"""CenterNet training targets on the stride-4 output grid: Gaussian centre heatmaps (radius from the box size,
as in CenterNet), and per-object centre index, size, sub-pixel offset, identity and depth-bin targets; for
pseudo labels (tracker.adapt) also per-object and per-cell loss weights with ignore regions."""
from __future__ import annotations

import numpy as np

from .heads import depth_to_bin
from .spec import STRIDE

MIN_VISIBILITY = 0.1  # objects less visible than this are no target (neither positive nor negative)
OBJECT_COLUMNS = 8  # x1, y1, x2, y2, class, id, visibility, range_m
WEIGHT_COLUMN, IGNORE_COLUMN = 8, 9  # of pseudo-label objects (tracker.network.cache.LABEL_COLUMNS without frame)


def gaussian_radius(h: float, w: float, min_overlap: float = 0.7) -> float:
    a1, b1, c1 = 1, h + w, w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + np.sqrt(b1 ** 2 - 4 * a1 * c1)) / 2
    a2, b2, c2 = 4, 2 * (h + w), (1 - min_overlap) * w * h
    r2 = (b2 + np.sqrt(b2 ** 2 - 4 * a2 * c2)) / 2
    a3, b3, c3 = 4 * min_overlap, -2 * min_overlap * (h + w), (min_overlap - 1) * w * h
    r3 = (b3 + np.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def draw_gaussian(hm: np.ndarray, cx: int, cy: int, radius: int) -> None:
    d = 2 * radius + 1
    sigma = d / 6
    y, x = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    g = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    H, W = hm.shape
    l, r = min(cx, radius), min(W - cx, radius + 1)
    t, b = min(cy, radius), min(H - cy, radius + 1)
    if l + r <= 0 or t + b <= 0:
        return
    sub = hm[cy - t:cy + b, cx - l:cx + r]
    np.maximum(sub, g[radius - t:radius + b, radius - l:radius + r], out=sub)


def _ignore_regions(weight: np.ndarray, objects: np.ndarray) -> None:
    """Zero ``weight`` (C, h, w) on the cells each ignore row's box covers (its class only)."""
    _, oh, ow = weight.shape
    for x1, y1, x2, y2, cls in objects[objects[:, IGNORE_COLUMN] > 0][:, :5]:
        c0, r0 = int(np.clip(np.floor(x1 / STRIDE), 0, ow)), int(np.clip(np.floor(y1 / STRIDE), 0, oh))
        c1, r1 = int(np.clip(np.ceil(x2 / STRIDE), 0, ow)), int(np.clip(np.ceil(y2 / STRIDE), 0, oh))
        weight[int(cls), r0:r1, c0:c1] = 0.0


def _window(weight: np.ndarray, cls: int, cx: int, cy: int, radius: int, value: float) -> None:
    """Set the (2 radius + 1)^2 cells around (cx, cy) of class ``cls`` (clipped to the grid) to ``value``."""
    _, H, W = weight.shape
    weight[cls, max(0, cy - radius):min(H, cy + radius + 1), max(0, cx - radius):min(W, cx + radius + 1)] = value


def build_targets(objects: np.ndarray, in_w: int, in_h: int, num_classes: int, bin_centres: np.ndarray,
                  max_objects: int = 64) -> dict:
    """objects (M, 8): x1, y1, x2, y2 (input px), class, id, visibility, range_m.

    Pseudo labels (M, 10): + weight, ignore (tracker.network.cache.LABEL_COLUMNS). Then the targets also hold
    ``weight`` (per object: scales its size/offset losses) and ``heatmap_weight`` (per cell: scales the focal
    loss): 1 everywhere, 0 on the boxes of ignore rows (which are no targets), and an object's weight on the
    Gaussian window of its centre (drawn after the ignore regions, so a kept object is never ignored)."""
    ow, oh = in_w // STRIDE, in_h // STRIDE
    hm = np.zeros((num_classes, oh, ow), np.float32)
    t = {"heatmap": hm, "index": np.zeros(max_objects, np.int64), "mask": np.zeros(max_objects, np.float32),
         "size": np.zeros((max_objects, 2), np.float32), "offset": np.zeros((max_objects, 2), np.float32),
         "ident": np.full(max_objects, -1, np.int64), "depth_bin": np.full(max_objects, -1, np.int64),
         "range": np.full(max_objects, np.nan, np.float32)}
    weighted = objects.shape[1] > OBJECT_COLUMNS
    if weighted:
        t["weight"] = np.zeros(max_objects, np.float32)
        t["heatmap_weight"] = np.ones_like(hm)
        _ignore_regions(t["heatmap_weight"], objects)
    k = 0
    for row in objects:
        x1, y1, x2, y2, cls, ident, vis, rng = row[:OBJECT_COLUMNS]
        if vis < MIN_VISIBILITY or (weighted and row[IGNORE_COLUMN] > 0):
            continue
        cx, cy = (x1 + x2) / 2 / STRIDE, (y1 + y2) / 2 / STRIDE
        if not (0 <= cx < ow and 0 <= cy < oh):
            continue
        bx1, by1 = max(x1, 0) / STRIDE, max(y1, 0) / STRIDE
        bx2, by2 = min(x2, in_w) / STRIDE, min(y2, in_h) / STRIDE
        w, h = x2 - x1, y2 - y1
        if w <= 1 or h <= 1:
            continue
        ci, cj = int(cx), int(cy)
        r = max(0, int(gaussian_radius(np.ceil((by2 - by1)), np.ceil((bx2 - bx1)))))
        draw_gaussian(hm[int(cls)], ci, cj, r)
        if weighted:
            _window(t["heatmap_weight"], int(cls), ci, cj, r, float(row[WEIGHT_COLUMN]))
        if k >= max_objects:
            continue
        t["index"][k] = cj * ow + ci
        t["mask"][k] = 1.0
        t["size"][k] = (w / STRIDE, h / STRIDE)
        t["offset"][k] = (cx - ci, cy - cj)
        t["ident"][k] = int(ident)
        if weighted:
            t["weight"][k] = row[WEIGHT_COLUMN]
        if np.isfinite(rng):
            t["depth_bin"][k] = int(depth_to_bin(rng, bin_centres))
            t["range"][k] = rng
        k += 1
    return t
