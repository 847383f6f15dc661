"""Scoring with TrackEval as the engine: frame-indexed GT/prediction lists -> TrackEval per-sequence data ->
HOTA (DetA, AssA, ...), CLEAR (MOTA, IDSW, ...) and Identity (IDF1, ...), per class, per sequence and
combined over sequences with TrackEval's own ``combine_sequences`` / ``combine_classes_det_averaged``.

Preprocessing (documented in docs/evaluation.md; the same steps as TrackEval's MotChallenge2DBox where they
apply):

1. GT objects marked ``zero_marked`` (MOT 'conf/flag' column = 0) are removed when
   ``ScoringConfig.drop_zero_marked`` (TrackEval: always; motmetrics: ``min_confidence=1``).
2. Each class in ``ScoringConfig.classes`` is evaluated on its own: GT and predictions of that class only.
3. Only when ``distractor_classes`` is non-empty (MOT16/17/20 GT) or ``min_visibility`` > 0: predictions
   matched (Hungarian on IoU >= ``distractor_iou``, against all GT boxes of the frame) to a distractor-class or
   too-little-visible GT box are removed, then those GT boxes are removed (TrackEval MOT17 step 2/4).
4. Ids are relabelled to contiguous integers per class and sequence; an id twice in one frame is an error.
5. Similarity = box IoU computed by TrackEval's ``_calculate_box_ious`` (x0y0x1y1).
No other filtering (no crowd regions, no size limits), as TrackEval does for MOT15/MOT17.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, NamedTuple, Sequence as Seq

import numpy as np
from scipy.optimize import linear_sum_assignment

from .config import ScoringConfig

HOTA_ARRAY_FIELDS = ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "OWTA")
ALL_CLASSES = "all"


class ScoringError(ValueError):
    """Data cannot be scored (e.g. an id used twice in one frame)."""


def _import_trackeval():
    """trackeval, with numpy aliases (np.float, np.int, np.bool) restored only if this trackeval needs them."""
    try:
        import trackeval
    except AttributeError:  # an older trackeval using aliases removed in numpy >= 1.24
        for name, tp in (("float", float), ("int", int), ("bool", bool)):
            if name not in np.__dict__:
                setattr(np, name, tp)
        import trackeval
    return trackeval


class Obj(NamedTuple):
    """One box of one frame: GT object or prediction."""
    id: str
    cls: str
    box: tuple  # (x1, y1, x2, y2) pixels
    score: float = 1.0  # prediction confidence (GT: 1)
    visibility: float = 1.0  # GT visible fraction (predictions: 1)
    zero_marked: bool = False  # GT row with flag 0: not scored
    position: tuple | None = None  # 3D centre (m) in the RGB optical frame, if known


Frames = Mapping[int, Seq[Obj]]


@dataclass
class Scores:
    """TrackEval results of one sequence (or a combination of sequences).

    ``per_class``: {class: {metric name: TrackEval result dict}} for the classes present (GT or predictions);
    ``combined``: the class combination (TrackEval ``combine_classes_det_averaged``) or None if nothing present.
    """
    name: str
    per_class: dict = field(default_factory=dict)
    combined: dict | None = None
    num_frames: int = 0

    def summary(self, cls: str = ALL_CLASSES) -> dict | None:
        res = self.combined if cls == ALL_CLASSES else self.per_class.get(cls)
        return None if res is None else summarize(res)

    def summaries(self) -> dict:
        out = {ALL_CLASSES: self.summary(ALL_CLASSES)}
        out.update({c: summarize(r) for c, r in self.per_class.items()})
        return out


# building TrackEval data -------------------------------------------------------------------------------------
def _boxes(objs: Seq[Obj]) -> np.ndarray:
    return np.asarray([o.box for o in objs], dtype=float).reshape(-1, 4)


def box_ious(a: Seq[Obj], b: Seq[Obj]) -> np.ndarray:
    """IoU matrix (len(a), len(b)) by TrackEval's own box IoU."""
    if not a or not b:
        return np.zeros((len(a), len(b)))
    te = _import_trackeval()
    return te.datasets._base_dataset._BaseDataset._calculate_box_ious(_boxes(a), _boxes(b), box_format="x0y0x1y1")


def _ignored_gt(objs: Seq[Obj], cfg: ScoringConfig) -> np.ndarray:
    return np.array([(o.cls in cfg.distractor_classes) or (cfg.min_visibility > 0 and
                                                            o.visibility < cfg.min_visibility) for o in objs],
                    dtype=bool)


def timeline(gt: Frames, pred: Frames, num_frames: int | None = None) -> list[int]:
    """Frame keys scored, in order: every key of GT or predictions, plus 1..num_frames when given (MOT files
    list only non-empty frames; empty frames change nothing but TrackEval's CLR_Frames)."""
    keys = set(gt) | set(pred)
    if num_frames is not None:
        keys |= set(range(1, num_frames + 1))
    return sorted(keys)


def build_trackeval_data(gt: Frames, pred: Frames, cls: str, cfg: ScoringConfig = ScoringConfig(),
                         name: str = "seq", num_frames: int | None = None) -> dict:
    """TrackEval's per-sequence, per-class data dict (what ``metric.eval_sequence`` takes) for class ``cls``,
    after the preprocessing listed in the module docstring."""
    frames = timeline(gt, pred, num_frames)
    gt_map: dict[str, int] = {}
    tr_map: dict[str, int] = {}
    data = {k: [] for k in ("gt_ids", "tracker_ids", "gt_dets", "tracker_dets", "tracker_confidences",
                            "similarity_scores")}
    for t in frames:
        g_all = list(gt.get(t, ()))
        p = [o for o in pred.get(t, ()) if o.cls == cls]
        ignored = _ignored_gt(g_all, cfg)
        if ignored.any() and p:
            sim = box_ious(g_all, p)
            sim[sim < cfg.distractor_iou - np.finfo("float").eps] = 0
            rows, cols = linear_sum_assignment(-sim)
            hit = sim[rows, cols] > np.finfo("float").eps
            drop = set(cols[hit][ignored[rows[hit]]].tolist())
            p = [o for j, o in enumerate(p) if j not in drop]
        g = [o for o, ign in zip(g_all, ignored) if o.cls == cls and not ign
             and not (cfg.drop_zero_marked and o.zero_marked)]
        for objs, kind in ((g, "GT"), (p, "prediction")):
            ids = [o.id for o in objs]
            if len(set(ids)) != len(ids):
                dup = sorted({i for i in ids if ids.count(i) > 1})
                raise ScoringError(f"{name}: {kind} id(s) {', '.join(map(str, dup))} appear more than once in "
                                   f"frame {t} (class {cls})")
        data["gt_ids"].append(np.array([gt_map.setdefault(o.id, len(gt_map)) for o in g], dtype=int))
        data["tracker_ids"].append(np.array([tr_map.setdefault(o.id, len(tr_map)) for o in p], dtype=int))
        data["gt_dets"].append(_boxes(g))
        data["tracker_dets"].append(_boxes(p))
        data["tracker_confidences"].append(np.array([o.score for o in p], dtype=float))
        data["similarity_scores"].append(box_ious(g, p))
    data.update(num_timesteps=len(frames), num_gt_ids=len(gt_map), num_tracker_ids=len(tr_map),
                num_gt_dets=int(sum(len(x) for x in data["gt_ids"])),
                num_tracker_dets=int(sum(len(x) for x in data["tracker_ids"])), seq=name, cls=cls)
    return data


# running TrackEval -------------------------------------------------------------------------------------------
def metrics(cfg: ScoringConfig = ScoringConfig()) -> list:
    """The TrackEval metric objects used: HOTA, CLEAR, Identity (thresholds from ``cfg``) and Count."""
    te = _import_trackeval()
    thr = {"THRESHOLD": cfg.iou_threshold, "PRINT_CONFIG": False}
    return [te.metrics.HOTA({"PRINT_CONFIG": False}), te.metrics.CLEAR(thr), te.metrics.Identity(thr),
            te.metrics.Count({"PRINT_CONFIG": False})]


def evaluate_data(data: dict, cfg: ScoringConfig = ScoringConfig()) -> dict:
    """{metric name: TrackEval result} of one sequence/class data dict."""
    return {m.get_name(): m.eval_sequence(data) for m in metrics(cfg)}


def _classes_present(gt: Frames, pred: Frames, cfg: ScoringConfig) -> list[str]:
    seen = {o.cls for objs in gt.values() for o in objs if not (cfg.drop_zero_marked and o.zero_marked)}
    seen |= {o.cls for objs in pred.values() for o in objs}
    return [c for c in cfg.classes if c in seen]


def combine_classes(per_class: Mapping[str, dict], cfg: ScoringConfig = ScoringConfig()) -> dict | None:
    """TrackEval's det-averaged class combination of {class: {metric: result}}."""
    if not per_class:
        return None
    return {m.get_name(): m.combine_classes_det_averaged({c: r[m.get_name()] for c, r in per_class.items()})
            for m in metrics(cfg)}


def score_sequence(gt: Frames, pred: Frames, cfg: ScoringConfig = ScoringConfig(), name: str = "seq",
                   num_frames: int | None = None) -> Scores:
    """Scores of one sequence: each class of ``cfg.classes`` present in GT or predictions, and 'all'."""
    per_class = {c: evaluate_data(build_trackeval_data(gt, pred, c, cfg, name, num_frames), cfg)
                 for c in _classes_present(gt, pred, cfg)}
    return Scores(name, per_class, combine_classes(per_class, cfg), len(timeline(gt, pred, num_frames)))


def combine_sequences(scores: Iterable[Scores], cfg: ScoringConfig = ScoringConfig(),
                      name: str = "COMBINED_SEQ") -> Scores:
    """TrackEval's combination over sequences (per class: ``combine_sequences``; then classes det-averaged).
    A class absent from a sequence contributes nothing to that class."""
    scores = list(scores)
    classes = [c for c in cfg.classes if any(c in s.per_class for s in scores)]
    extra = sorted({c for s in scores for c in s.per_class} - set(classes))
    per_class = {}
    for c in classes + extra:
        per_class[c] = {m.get_name(): m.combine_sequences({s.name + f"#{k}": s.per_class[c][m.get_name()]
                                                           for k, s in enumerate(scores) if c in s.per_class})
                        for m in metrics(cfg)}
    return Scores(name, per_class, combine_classes(per_class, cfg), sum(s.num_frames for s in scores))


# flat summaries ----------------------------------------------------------------------------------------------
def _num(x):
    x = np.asarray(x).item() if np.ndim(x) == 0 else x
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    return x if math.isfinite(x) else None


def summarize(res: Mapping[str, dict]) -> dict:
    """Flat {name: number} of a {metric: result} dict: HOTA family averaged over the alpha thresholds (as
    TrackEval's summaries), CLEAR, Identity and Count fields. IDSW and counts are integers."""
    out = {}
    h = res.get("HOTA")
    if h is not None:
        for f in HOTA_ARRAY_FIELDS:
            out[f] = float(np.mean(h[f]))
        for f in ("HOTA(0)", "LocA(0)", "HOTALocA(0)"):
            out[f] = _num(h[f])
    c = res.get("CLEAR")
    if c is not None:
        for f in ("MOTA", "MOTP", "MODA", "CLR_Re", "CLR_Pr", "MTR", "PTR", "MLR", "sMOTA", "CLR_F1",
                  "FP_per_frame", "MOTAL"):
            out[f] = _num(c[f])
        for f in ("CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "MT", "PT", "ML", "Frag", "CLR_Frames"):
            out[f] = int(round(float(c[f])))
    i = res.get("Identity")
    if i is not None:
        for f in ("IDF1", "IDR", "IDP"):
            out[f] = _num(i[f])
        for f in ("IDTP", "IDFN", "IDFP"):
            out[f] = int(round(float(i[f])))
    n = res.get("Count")
    if n is not None:
        for f in ("Dets", "GT_Dets", "IDs", "GT_IDs"):
            out[f] = int(round(float(n[f])))
    return out


def match_frame(gt: Seq[Obj], pred: Seq[Obj], iou_threshold: float) -> list[tuple[int, int]]:
    """Hungarian matching of one frame's GT and predictions on IoU (pairs with IoU >= threshold), class-agnostic.
    Used for the 3D error and the id timeline (not for the TrackEval scores)."""
    if not gt or not pred:
        return []
    sim = box_ious(gt, pred)
    rows, cols = linear_sum_assignment(-sim)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if sim[r, c] >= iou_threshold - np.finfo("float").eps]
