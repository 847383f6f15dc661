"""Training losses: CenterNet focal loss on heatmaps, L1 on size/offset at centres (and optionally a GIoU loss of
the box they make, which weighs a small object's box error as much as a large one's), FDTA identity contrastive
loss over all positive pairs in the batch, depth-bin cross-entropy (+ L1 on log range of the eq.-13 estimate),
and the diffusion noise-prediction loss of the fusion.

Every term is a sum over the batch divided by a count (positives, objects, samples); with a
:class:`tracker.network.distributed.Reducer` the counts are summed over the processes of a data-parallel run and
the identity loss sees every process's embeddings, so the gradient DDP averages is the gradient of the loss of
the whole global batch (the single-process loss, up to float summation order)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from tracker.common.config import param


@dataclass(frozen=True)
class LossWeights:
    heatmap: float = param(1.0, ge=0.0)
    size: float = param(0.1, ge=0.0)
    offset: float = param(1.0, ge=0.0)
    identity: float = param(0.5, ge=0.0)
    depth: float = param(0.5, ge=0.0)
    diffusion: float = param(1.0, ge=0.0)
    box_giou: float = param(0.0, ge=0.0, doc="GIoU loss of the box (offset + size) at each object's centre; "
                            "scale-invariant, unlike the L1 size term, which is in output cells (0 = off)")
    temperature: float = param(0.1, gt=0.0, doc="contrastive softmax temperature")


def focal_sum(logits: torch.Tensor, gt: torch.Tensor, alpha: float = 2.0, beta: float = 4.0,
              weight: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """CenterNet focal loss summed over all cells, and the number of positive cells (its normaliser).
    ``weight`` (like ``gt``): each cell's loss scaled by it (pseudo labels: soft weights, 0 in ignore regions);
    the normaliser stays the count of positive cells."""
    pred = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = gt.eq(1).float()
    neg = 1.0 - pos
    pos_loss = torch.log(pred) * (1 - pred) ** alpha * pos
    neg_loss = torch.log(1 - pred) * pred ** alpha * (1 - gt) ** beta * neg
    if weight is not None:
        pos_loss, neg_loss = pos_loss * weight, neg_loss * weight
    return -(pos_loss.sum() + neg_loss.sum()), pos.sum()


def focal_loss(logits: torch.Tensor, gt: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    total, n = focal_sum(logits, gt, alpha, beta)
    return total / n.clamp(min=1.0)


def gather(feat: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """feat (B, C, h, w), index (B, M) -> (B, M, C)."""
    b, c = feat.shape[:2]
    f = feat.view(b, c, -1).permute(0, 2, 1)
    return f.gather(1, index.unsqueeze(-1).expand(-1, -1, c))


#: GIoU: predicted sizes below this (output cells) count as this (a negative size is no box); areas are floored
#: at GIOU_EPS so that padded object rows (size 0, mask 0) stay finite
GIOU_MIN_SIZE = 1e-3
GIOU_EPS = 1e-6


def giou_sum(out: dict, tgt: dict, m: torch.Tensor) -> torch.Tensor:
    """Sum over objects of (1 - GIoU) between the predicted box at each object's centre cell and its target box,
    scaled by ``m`` (B, M, 1); both boxes are in output cells relative to that cell, so the cell cancels."""
    def corners(offset, size):
        size = size.clamp(min=GIOU_MIN_SIZE)
        return torch.cat([offset - size / 2, offset + size / 2], dim=-1)
    p = corners(gather(out["offset"], tgt["index"]), gather(out["size"], tgt["index"]))
    g = corners(tgt["offset"], tgt["size"])
    area = lambda b: (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)  # noqa: E731
    lo, hi = torch.maximum(p[..., :2], g[..., :2]), torch.minimum(p[..., 2:], g[..., 2:])
    inter = (hi - lo).clamp(min=0).prod(-1)
    union = (area(p) + area(g) - inter).clamp(min=GIOU_EPS)
    hull = (torch.maximum(p[..., 2:], g[..., 2:]) - torch.minimum(p[..., :2], g[..., :2])).prod(-1).clamp(min=GIOU_EPS)
    giou = inter / union - (hull - union) / hull
    return ((1.0 - giou) * m.squeeze(-1)).sum()


def contrastive_identity_loss(emb: torch.Tensor, ids: torch.Tensor, frames: torch.Tensor,
                              temperature: float) -> torch.Tensor:
    """Supervised contrastive loss over every positive pair (same identity, different frames) in the batch.
    emb (P, D) L2-normalised, ids (P,) batch-unique identity keys, frames (P,) batch frame index."""
    if emb.shape[0] < 2:
        return emb.sum() * 0
    sim = emb @ emb.t() / temperature
    eye = torch.eye(len(ids), dtype=torch.bool, device=emb.device)
    pos = (ids[:, None] == ids[None, :]) & (frames[:, None] != frames[None, :])
    sim = sim.masked_fill(eye, -1e9)
    logp = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    npos = pos.sum(1)
    has = npos > 0
    if not has.any():
        return emb.sum() * 0
    return -((logp * pos).sum(1)[has] / npos[has]).mean()


class LocalReducer:
    """The single-process reduction (what :class:`tracker.network.distributed.Reducer` does across processes)."""
    world = 1
    frame_offset = 0

    @staticmethod
    def sum(t: torch.Tensor) -> torch.Tensor:
        return t

    @staticmethod
    def gather(t: torch.Tensor) -> torch.Tensor:
        return t


def _sum_terms(out: dict, tgt: dict, bin_centres: torch.Tensor) -> dict:
    """{term: (sum over the batch, count it is divided by)}. Pseudo-label targets (``weight``,
    ``heatmap_weight``) scale each object's size/offset loss and each cell's focal loss; counts are unchanged."""
    mask = tgt["mask"]
    m, n = (mask if "weight" not in tgt else mask * tgt["weight"]).unsqueeze(-1), mask.sum()
    T = {"heatmap": focal_sum(out["heatmap"], tgt["heatmap"], weight=tgt.get("heatmap_weight"))}
    T["size"] = ((F.l1_loss(gather(out["size"], tgt["index"]), tgt["size"], reduction="none") * m).sum(), n)
    T["offset"] = ((F.l1_loss(gather(out["offset"], tgt["index"]), tgt["offset"], reduction="none") * m).sum(), n)
    T["box_giou"] = (giou_sum(out, tgt, m), n)
    # depth: CE on the LID bin + L1 on log range of the expected depth (eq. 13), per object with a range
    dsel = (mask > 0) & (tgt["depth_bin"] >= 0)
    logits = gather(out["depth_logits"], tgt["index"])[dsel]
    ce = F.cross_entropy(logits, tgt["depth_bin"][dsel], reduction="sum")
    exp = (torch.softmax(logits, 1) * bin_centres.view(1, -1)).sum(1)
    l1 = (torch.log(exp.clamp(min=1e-3)) - torch.log(tgt["range"][dsel])).abs().sum()
    T["depth"] = (ce + l1 + out["depth_logits"].sum() * 0, dsel.sum().float())
    b = torch.tensor(float(mask.shape[0]))
    dloss = out.get("diffusion_loss")
    T["diffusion"] = (dloss * b, b) if dloss is not None else (mask.sum() * 0, b)
    return T


def _identity_rows(out: dict, tgt: dict, clip_of: torch.Tensor, frame_offset: int):
    """Embeddings at the centres of all objects of the batch, their batch-unique identity keys and frames."""
    mask = tgt["mask"]
    sel = mask > 0
    emb = F.normalize(gather(out["embedding"], tgt["index"])[sel], dim=1)
    b = mask.shape[0]
    frame = (torch.arange(b, device=mask.device) + frame_offset).view(b, 1).expand_as(mask)[sel]
    key = clip_of.view(b, 1).expand_as(mask)[sel] * 100000 + tgt["ident"][sel]
    return emb, key, frame


def detection_losses(out: dict, tgt: dict, bin_centres: torch.Tensor, clip_of: torch.Tensor,
                     w: LossWeights, reducer=LocalReducer) -> dict:
    """The weighted losses of one (local) batch; ``total`` is what this process back-propagates."""
    T = _sum_terms(out, tgt, bin_centres)
    counts = reducer.sum(torch.stack([c.detach().float() for _, c in T.values()]))
    L = {k: reducer.world * s / counts[i].clamp(min=1.0) for i, (k, (s, _)) in enumerate(T.items())}
    emb, key, frame = (reducer.gather(x) for x in _identity_rows(out, tgt, clip_of, reducer.frame_offset))
    L["identity"] = reducer.world * contrastive_identity_loss(emb, key, frame, w.temperature)
    L["total"] = sum(getattr(w, k) * L[k]
                     for k in ("heatmap", "size", "offset", "box_giou", "identity", "depth", "diffusion"))
    return L
