"""The teacher: a .pt checkpoint run with PyTorch at its most accurate - every modality subset of
``teacher.modalities``, the input and its mirror image, the letterboxed input and a 2x-upscaled 2x2-tiled pass
for small people - merged per frame by weighted box fusion into scored boxes.

Fused score of a box: the best, over modality subsets, of (sum of the subset's scores in the cluster) /
(views of the subset that could see it), at most 1 - a view is the input or the set of its tiles, mirrored or
not, and a box that no single tile holds whole counts only the untiled views. A person the thermal passes see
at night scores as high as thermal says, whatever RGB saw (cross-modal agreement; the label then supervises
every modality of that frame, and the student's modality dropout trains RGB on it). Box: the score-weighted
mean of the cluster; embedding: the score-weighted mean, L2-normalised. ``support`` records which subsets saw each box.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tracker.network.decode import decode
from tracker.network.metrics import iou_matrix
from tracker.network.spec import INPUT_NAMES

from .config import TEACHER_SUBSETS, TeacherConfig

TILE_GRID = 2  # the tiled pass: the input upscaled by this factor, cut into this x this tiles of input size


@dataclass(frozen=True)
class Pass:
    """One forward pass of a frame: modality subset (its index in the config), mirrored, tile (row, col)."""
    group: int
    flip: bool
    tile: tuple[int, int] | None


@dataclass
class FrameBoxes:
    """Teacher boxes of one frame (network-input px)."""
    boxes: np.ndarray  # (n, 4) xyxy
    scores: np.ndarray  # (n,)
    classes: np.ndarray  # (n,) int
    embeddings: np.ndarray  # (n, D)
    support: np.ndarray  # (n, groups) bool: which modality subsets saw the box

    def __len__(self) -> int:
        return int(len(self.scores))

    def select(self, keep: np.ndarray) -> "FrameBoxes":
        return FrameBoxes(self.boxes[keep], self.scores[keep], self.classes[keep], self.embeddings[keep],
                          self.support[keep])

    @staticmethod
    def empty(dim: int, groups: int) -> "FrameBoxes":
        return FrameBoxes(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), np.zeros((0, dim), np.float32),
                          np.zeros((0, groups), bool))


def passes(cfg: TeacherConfig) -> list[Pass]:
    tiles = [None] + ([(r, c) for r in range(TILE_GRID) for c in range(TILE_GRID)] if cfg.tiles else [])
    flips = (False, True) if cfg.flip else (False,)
    return [Pass(g, f, t) for g in range(len(cfg.modalities)) for f in flips for t in tiles]


def _upscale(x: np.ndarray, name: str) -> np.ndarray:
    """(C, H, W) input -> (C, 2H, 2W): bilinear for images, nearest for depth (inverse depth and its mask)."""
    if name == "depth":
        return np.repeat(np.repeat(x, TILE_GRID, 1), TILE_GRID, 2)
    up = [cv2.resize(c, None, fx=TILE_GRID, fy=TILE_GRID, interpolation=cv2.INTER_LINEAR) for c in x]
    return np.stack(up).astype(x.dtype)


def pass_input(inp: dict, p: Pass) -> dict:
    """The network input of pass ``p`` from a frame's un-augmented input (arrays (C, H, W), modality (3,))."""
    out = dict(inp)
    if p.tile is not None:
        r, c = p.tile
        _, H, W = inp["rgb"].shape
        for k in ("rgb", "thermal", "depth"):
            out[k] = np.ascontiguousarray(_upscale(inp[k], k)[:, r * H:(r + 1) * H, c * W:(c + 1) * W])
    if p.flip:
        for k in ("rgb", "thermal", "depth"):
            out[k] = np.ascontiguousarray(out[k][:, :, ::-1])
    return out


def unmap_boxes(boxes: np.ndarray, p: Pass, width: int, height: int) -> np.ndarray:
    """Boxes (n, 4) found in pass ``p``'s input -> the frame's input coordinates."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4).copy()
    if p.flip:
        b[:, [0, 2]] = width - b[:, [2, 0]]
    if p.tile is not None:
        r, c = p.tile
        b[:, [0, 2]] = (b[:, [0, 2]] + c * width) / TILE_GRID
        b[:, [1, 3]] = (b[:, [1, 3]] + r * height) / TILE_GRID
    return b


def cut_by_tile(boxes: np.ndarray, p: Pass, width: int, height: int, border: float) -> np.ndarray:
    """(n,) True for boxes (pass input px, before unmapping) within ``border`` of an inner tile edge."""
    if p.tile is None:
        return np.zeros(len(boxes), bool)
    r, c = p.tile
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    near_right, near_left = b[:, 2] > width - border, b[:, 0] < border
    if p.flip:  # in a mirrored tile the inner edge is on the other side
        near_right, near_left = near_left, near_right
    cut = np.zeros(len(b), bool)
    cut |= near_right if c < TILE_GRID - 1 else False  # the tile's right edge is inner
    cut |= near_left if c > 0 else False
    cut |= (b[:, 3] > height - border) if r < TILE_GRID - 1 else False
    cut |= (b[:, 1] < border) if r > 0 else False
    return cut


def fits_one_tile(boxes: np.ndarray, width: int, height: int, border: float) -> np.ndarray:
    """(n,) True for frame boxes a tiled view can see whole: inside one tile, off its inner edges."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    m = border / TILE_GRID  # the border in frame px
    xs = (b[:, 2] <= width / 2 - m) | (b[:, 0] >= width / 2 + m)
    ys = (b[:, 3] <= height / 2 - m) | (b[:, 1] >= height / 2 + m)
    return xs & ys


def fuse(found: list[tuple[int, object]], views: list[tuple[int, bool]], iou: float, dim: int, width: int,
         height: int, border: float, groups: int) -> FrameBoxes:
    """Weighted box fusion of (view index, Decoded in frame coordinates) of every pass of a frame (module
    docstring). ``views``: (group, tiled) of each view run (a view: the untiled input or the set of its tiles,
    mirrored or not); a box counts the tiled views of its group only when one tile could hold it whole."""
    if not found or not sum(len(d.scores) for _, d in found):
        return FrameBoxes.empty(dim, groups)
    B = np.concatenate([d.boxes for _, d in found])
    S = np.concatenate([d.scores for _, d in found])
    C = np.concatenate([d.classes for _, d in found])
    E = np.concatenate([d.embeddings for _, d in found]).astype(np.float32)
    G = np.concatenate([np.full(len(d.scores), views[v][0]) for v, d in found])
    members: list[list[int]] = []
    fused, fcls, wsum = np.zeros((len(S), 4)), np.zeros(len(S), np.int64), np.zeros(len(S))
    for i in np.argsort(-S, kind="stable"):
        n = len(members)
        ious = np.where(fcls[:n] == C[i], iou_matrix(B[i][None], fused[:n]).reshape(-1), -1.0)
        if n and ious.max() >= iou:
            k = int(ious.argmax())
            members[k].append(i)
            fused[k] = (fused[k] * wsum[k] + S[i] * B[i]) / (wsum[k] + S[i])  # the score-weighted mean
            wsum[k] += S[i]
        else:
            members.append([i])
            fused[n], fcls[n], wsum[n] = B[i], C[i], S[i]
    fused_arr = fused[:len(members)].copy()
    vg = np.asarray([g for g, _ in views], np.int64)
    vt = np.asarray([t for _, t in views], bool)
    whole = fits_one_tile(fused_arr, width, height, border)
    counts = np.stack([np.bincount(vg[~vt | w], minlength=groups) for w in whole])  # (clusters, groups)
    return _clusters(members, fused_arr, S, C, E, G, counts)


def _clusters(members, fused, S, C, E, G, counts) -> FrameBoxes:
    groups = counts.shape[1]
    scores, support, emb = [], [], []
    for k, m in enumerate(members):
        per_group = np.bincount(G[m], weights=S[m], minlength=groups) / np.maximum(counts[k], 1)
        scores.append(min(1.0, float(per_group.max())))
        support.append(np.bincount(G[m], minlength=groups) > 0)
        e = (S[m, None] * E[m]).sum(0)
        emb.append(e / max(float(np.linalg.norm(e)), 1e-12))
    return FrameBoxes(fused, np.asarray(scores), np.asarray([C[m[0]] for m in members], np.int64),
                      np.asarray(emb, np.float32), np.asarray(support, bool).reshape(-1, groups))


class Teacher:
    """TTA inference through ``infer`` (a batch of network inputs {name: (N, ...)} -> the deployment outputs
    {heatmap, size, offset, embedding, distance} as arrays; :func:`torch_infer` for a checkpoint)."""

    def __init__(self, infer, cfg: TeacherConfig, width: int, height: int, embedding_dim: int):
        self.infer, self.cfg, self.width, self.height, self.dim = infer, cfg, width, height, embedding_dim
        self.passes = passes(cfg)

    def frame_passes(self, modality_avail) -> list[Pass]:
        """The passes a frame gets: those whose subset has a modality the frame has."""
        avail = np.asarray(modality_avail, bool)
        return [p for p in self.passes if (avail & np.asarray(TEACHER_SUBSETS[self.cfg.modalities[p.group]])).any()]

    def frame_boxes(self, cache, i: int, norm) -> FrameBoxes:
        """Teacher boxes of frame i of a tracker.network FrameCache (fused score >= score_threshold)."""
        avail = cache.frame(i)[4]
        todo = self.frame_passes(avail)
        inputs = {}
        for g, name in enumerate(self.cfg.modalities):
            inputs[g] = cache.network_inputs(i, TEACHER_SUBSETS[name], norm)
        batch = [pass_input(inputs[p.group], p) for p in todo]
        views = sorted({(p.group, p.flip, p.tile is not None) for p in todo})
        view_of = {v: k for k, v in enumerate(views)}
        found = []
        for s in range(0, len(batch), self.cfg.batch):
            part = batch[s:s + self.cfg.batch]
            out = self.infer({k: np.stack([b[k] for b in part]) for k in INPUT_NAMES})
            for j, p in enumerate(todo[s:s + self.cfg.batch]):
                found.append((view_of[(p.group, p.flip, p.tile is not None)], self._decoded(out, j, p)))
        fb = fuse(found, [(g, t) for g, _, t in views], self.cfg.fusion_iou, self.dim, self.width, self.height,
                  self.cfg.tile_border_px, len(self.cfg.modalities))
        return fb.select(fb.scores >= self.cfg.score_threshold)

    def _decoded(self, out: dict, j: int, p: Pass):
        """Pass p's detections (batch row j), tile-cut ones dropped, in frame coordinates."""
        d = decode(out, self.cfg.top_k, self.cfg.raw_threshold, j)
        keep = ~cut_by_tile(d.boxes, p, self.width, self.height, self.cfg.tile_border_px)
        d.boxes, d.scores, d.classes, d.embeddings = (unmap_boxes(d.boxes[keep], p, self.width, self.height),
                                                      d.scores[keep], d.classes[keep], d.embeddings[keep])
        return d

    def bag_boxes(self, cache, norm) -> list[FrameBoxes]:
        return [self.frame_boxes(cache, i, norm) for i in range(len(cache))]


def torch_infer(net, device: str = "auto"):
    """``infer`` for a TrackerNet (eval mode, no gradients) on ``device`` (auto: CUDA when available)."""
    import torch
    dev = torch.device("cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu")
    net = net.to(dev).eval()

    def infer(batch: dict) -> dict:
        with torch.no_grad():
            t = {k: torch.from_numpy(np.ascontiguousarray(v)).to(dev) for k, v in batch.items()}
            out = net.postprocess(net(t["rgb"], t["thermal"], t["depth"], t["modality"]))
        return {k: v.float().cpu().numpy() for k, v in out.items()}
    return infer
