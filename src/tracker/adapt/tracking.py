"""Tracking metrics of a student on the held-out (--val) bags: the network's detections (all modalities)
fed to the tracker core online, frame by frame, as the node feeds it (no 3D, network-input pixels), scored
against the bags' ground truth with TrackEval (tracker.eval.scoring: HOTA, DetA, AssA, MOTA, IDF1).

A proxy for the round report: the node suite's HOTA (registration, 3D, calibrated thresholds) is measured by
tracker-eval on the exported model."""
from __future__ import annotations

import numpy as np

from tracker.core.tracker import Tracker
from tracker.core.types import Detections
from tracker.data.contract import CLASS_NAMES
from tracker.network.decode import decode
from tracker.network.spec import INPUT_NAMES

SUMMARY_FIELDS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW")


def _gt_objs(rows: np.ndarray) -> list:
    from tracker.eval.scoring import Obj
    return [Obj(str(int(r[5])), CLASS_NAMES[int(r[4])], tuple(map(float, r[:4])), 1.0, float(r[6])) for r in rows]


def _clip_frames(infer, cache, idx, norm, tracker_cfg, score_threshold: float, period_s: float, top_k: int,
                 batch: int):
    """(GT frames, predicted frames) of one clip (frame indices ``idx``), keyed 1..n."""
    from tracker.eval.scoring import Obj
    trk = Tracker(tracker_cfg)
    gt, pred = {}, {}
    for s in range(0, len(idx), batch):
        part = idx[s:s + batch]
        inp = [cache.network_inputs(int(i), (True, True, True), norm) for i in part]
        out = infer({k: np.stack([x[k] for x in inp]) for k in INPUT_NAMES})
        for b, i in enumerate(part):
            k = s + b + 1
            d = decode(out, top_k, score_threshold, b)
            tracks = trk.update(k * period_s, Detections(d.boxes, d.scores, d.classes, embeddings=d.embeddings))
            pred[k] = [Obj(str(t.track_id), t.class_name, tuple(map(float, t.box)), float(t.score))
                       for t in tracks if t.is_confirmed and t.det_index >= 0]
            gt[k] = _gt_objs(cache.objects(int(i)))
    return gt, pred


def tracking_metrics(infer, cache, norm, tracker_cfg, score_threshold: float, period_s: float, top_k: int,
                     batch: int = 16) -> dict:
    """{"person": {HOTA, DetA, AssA, MOTA, IDF1, IDSW}, "all": ...} over every clip of ``cache`` (% as
    TrackEval reports them x 100)."""
    from tracker.eval.scoring import combine_sequences, score_sequence
    clip = cache.a["clip"]
    scores = []
    for c in np.unique(clip):
        gt, pred = _clip_frames(infer, cache, np.flatnonzero(clip == c), norm, tracker_cfg, score_threshold,
                                period_s, top_k, batch)
        scores.append(score_sequence(gt, pred, name=f"clip{int(c)}", num_frames=len(gt)))
    comb = combine_sequences(scores)
    out = {}
    for cls in ("person", "all"):
        s = comb.summary(cls)
        out[cls] = None if s is None else {f: _pct(s.get(f), f) for f in SUMMARY_FIELDS}
    return out


def _pct(v, field: str):
    if v is None:
        return None
    return int(v) if field == "IDSW" else round(100.0 * float(v), 2)
