"""NMS-free CenterNet decoding of the deployment outputs (numpy, torch-free): top-K peaks of the peak-masked
heatmap above a score threshold -> boxes (input px), scores, classes, embeddings (L2-normalised), distances
(metres). ``stride`` is the model's (its metadata's ``stride`` at inference; tracker.network.spec in training)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import STRIDE


@dataclass
class Decoded:
    boxes: np.ndarray  # (N, 4) xyxy in network-input px
    scores: np.ndarray
    classes: np.ndarray
    embeddings: np.ndarray
    distances: np.ndarray


def decode(out: dict, top_k: int = 100, score_threshold: float = 0.3, batch_index: int = 0,
           stride: int = STRIDE) -> Decoded:
    heat = np.asarray(out["heatmap"][batch_index], np.float32)  # (C, h, w), already peak-masked
    c, h, w = heat.shape
    flat = heat.reshape(-1)
    k = min(top_k, flat.size)
    idx = np.argpartition(-flat, k - 1)[:k]
    idx = idx[np.argsort(-flat[idx], kind="stable")]
    idx = idx[flat[idx] >= score_threshold]
    cls, pix = np.divmod(idx, h * w)
    ys, xs = np.divmod(pix, w)
    size = np.asarray(out["size"][batch_index])[:, ys, xs].T
    off = np.asarray(out["offset"][batch_index])[:, ys, xs].T
    cx, cy = xs + off[:, 0], ys + off[:, 1]
    bw, bh = np.maximum(size[:, 0], 0), np.maximum(size[:, 1], 0)
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1) * stride
    emb = np.asarray(out["embedding"][batch_index])[:, ys, xs].T.astype(np.float32)
    norm = np.linalg.norm(emb, axis=1, keepdims=True)
    emb = emb / np.maximum(norm, 1e-12)
    dist = np.asarray(out["distance"][batch_index])[0, ys, xs].astype(np.float64)
    return Decoded(boxes.astype(np.float64), flat[idx].astype(np.float64), cls.astype(np.int64), emb, dist)
