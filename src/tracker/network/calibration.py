"""Calibrated detection scores (numpy only): per class a monotone map raw heatmap score -> estimated precision,
the probability that a detection at that score is a true positive (IoU >= 0.5 with a counted ground truth, the
matching and ignore regions of tracker.network.metrics), so that score thresholds mean the same for every model.

    cal = ScoreCalibration.fit(class_names, {c: (scores, is_tp)}, CalibrationConfig())   # tracker-calibrate does it
    meta["calibration"] = cal.to_meta()                        # stored in the model's metadata JSON
    cal = model_calibration(meta)                              # None for a model without one (Detector)
    calibrated = cal.apply(raw_scores, classes)
    raw = cal.raw_threshold(0.5, "person")                     # raw score where the calibrated one reaches 0.5

The map of a class is the isotonic regression (pool-adjacent-violators) of is_tp on the raw score, its blocks
thinned to at most ``knots`` points and interpolated linearly between them, blended with a small weight
``strict_weight`` of the raw score so it is strictly increasing on [0, 1]: a raw threshold t and the calibrated
threshold f(t) then keep exactly the same detections of that class. A class with fewer than ``min_samples``
detections keeps the identity map (status ``identity`` in the metadata, with the reason).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tracker.common.config import ConfigError, param

FORMAT = 1
META_KEY = "calibration"
KIND = "isotonic-precision"
STATUSES = ("calibrated", "identity")
SCORE_SCALES = ("raw", "calibrated")
_NUDGE_STEPS = 16  # float steps raw_threshold takes at most so that f(threshold) >= t holds exactly


class CalibrationError(ValueError):
    """Calibration metadata that cannot be used (malformed, other format, other classes, other model)."""


@dataclass(frozen=True)
class CalibrationConfig:
    """How tracker-calibrate fits a calibration (its flags override these)."""
    knots: int = param(32, unit="knots", ge=3, le=1000,
                       doc="at most this many (raw, calibrated) points per class, the ends 0 and 1 included")
    min_samples: int = param(200, unit="detections", ge=1,
                             doc="a class with fewer matched-or-false detections keeps the identity map")
    strict_weight: float = param(1e-3, unit="1", gt=0.0, lt=0.1,
                                 doc="weight of the raw score blended into the isotonic precision (calibrated = "
                                     "(1 - w) precision + w raw) so that the map is strictly increasing")
    raw_threshold: float = param(0.02, unit="1 (raw score)", ge=0.0, le=1.0,
                                 doc="fitting keeps detections down to this raw score: below any threshold the "
                                     "node may use")
    top_k: int = param(100, unit="detections", ge=1, doc="peaks per frame when fitting (the detector's top_k)")
    iou: float = param(0.5, unit="1 (IoU)", gt=0.0, le=1.0, doc="a detection is a true positive at this IoU")
    bins: int = param(10, unit="bins", ge=1, le=100, doc="equal-width score bins of the reliability table and ECE")


def isotonic_blocks(x, y, w=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted isotonic (non-decreasing) least-squares regression of ``y`` on ``x`` by pool-adjacent-violators.
    Returns its blocks: weighted mean x, value and weight of each, x and value strictly increasing (equal x are
    pooled first; a block is pooled with the previous one while the previous value is >= its own)."""
    x, y = np.asarray(x, np.float64).reshape(-1), np.asarray(y, np.float64).reshape(-1)
    w = np.ones_like(x) if w is None else np.asarray(w, np.float64).reshape(-1)
    if not (len(x) == len(y) == len(w)) or len(x) == 0:
        raise ValueError(f"isotonic_blocks needs equal, non-empty x, y, w (got {len(x)}, {len(y)}, {len(w)})")
    order = np.argsort(x, kind="stable")
    x, y, w = x[order], y[order], w[order]
    ux, start = np.unique(x, return_index=True)
    ws, ys, xs = np.add.reduceat(w, start), np.add.reduceat(w * y, start), ux * np.add.reduceat(w, start)
    val: list[float] = []
    wt: list[float] = []
    xw: list[float] = []
    for v, ww, xx in zip((ys / ws).tolist(), ws.tolist(), xs.tolist()):
        while val and val[-1] >= v:
            pv, pw = val.pop(), wt.pop()
            v, ww, xx = (pv * pw + v * ww) / (pw + ww), ww + pw, xx + xw.pop()
        val.append(v), wt.append(ww), xw.append(xx)
    wt_a = np.asarray(wt)
    return np.asarray(xw) / wt_a, np.asarray(val), wt_a


def _thin(bx, by, bw, n: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``n`` of the blocks, spread evenly over their cumulative weight (first and last kept)."""
    if len(bx) <= n:
        return bx, by
    centre = np.cumsum(bw) - bw / 2
    idx = np.searchsorted(centre, np.linspace(centre[0], centre[-1], n)).clip(0, len(bx) - 1)
    idx = np.unique(np.concatenate([[0], idx, [len(bx) - 1]]))
    return bx[idx], by[idx]


def fit_knots(scores, is_tp, knots: int, strict_weight: float) -> np.ndarray:
    """(K, 2) knots (raw, calibrated) of one class, K <= ``knots``, both columns strictly increasing, x from 0
    to 1 (raw heatmap scores are sigmoids)."""
    bx, by, bw = isotonic_blocks(np.clip(scores, 0.0, 1.0), np.asarray(is_tp, np.float64))
    inner = knots - int(bx[0] > 0.0) - int(bx[-1] < 1.0)
    bx, by = _thin(bx, by, bw, max(inner, 1))
    x, y = bx, by
    if x[0] > 0.0:
        x, y = np.concatenate([[0.0], x]), np.concatenate([[y[0]], y])
    if x[-1] < 1.0:
        x, y = np.concatenate([x, [1.0]]), np.concatenate([y, [y[-1]]])
    return np.stack([x, (1.0 - strict_weight) * y + strict_weight * x], 1)


@dataclass(frozen=True)
class ClassMap:
    """The map of one class: ``knots`` (K, 2) raw -> calibrated, or None for the identity."""
    knots: np.ndarray | None
    samples: int = 0
    true_positives: int = 0
    reason: str = ""

    @property
    def calibrated(self) -> bool:
        return self.knots is not None

    def apply(self, scores) -> np.ndarray:
        s = np.asarray(scores, np.float64)
        return s if self.knots is None else np.interp(s, self.knots[:, 0], self.knots[:, 1])

    def raw_threshold(self, t: float) -> float:
        """The smallest raw score whose calibrated score is >= ``t``: -inf when every score is (t at or below
        the map's value at 0), +inf when none is."""
        if self.knots is None:
            return float(t)
        x, y = self.knots[:, 0], self.knots[:, 1]
        if t <= y[0]:
            return float("-inf")
        if t > y[-1]:
            return float("inf")
        s = float(np.interp(t, y, x))
        for _ in range(_NUDGE_STEPS):
            if float(np.interp(s, x, y)) >= t:
                break
            s = float(np.nextafter(s, np.inf))
        return s


class ScoreCalibration:
    """Per-class score maps of one model (index = the model's class id)."""

    def __init__(self, class_names, maps, info: dict | None = None):
        self.class_names = tuple(class_names)
        self.maps = tuple(maps)
        self.info = dict(info or {})
        if len(self.maps) != len(self.class_names):
            raise ValueError(f"{len(self.maps)} maps for {len(self.class_names)} classes")

    @classmethod
    def fit(cls, class_names, pairs: dict, cfg: CalibrationConfig = CalibrationConfig(),
            info: dict | None = None) -> "ScoreCalibration":
        """``pairs``: {class index: (raw scores, is_tp)} of the held-out detections (a class left out has none)."""
        maps = []
        for c in range(len(tuple(class_names))):
            s, tp = (np.asarray(a).reshape(-1) for a in pairs.get(c, ((), ())))
            n, k = len(s), int(np.sum(tp))
            if n < cfg.min_samples:
                maps.append(ClassMap(None, n, k, f"{n} samples < min_samples {cfg.min_samples}"))
            else:
                maps.append(ClassMap(fit_knots(s, tp, cfg.knots, cfg.strict_weight), n, k))
        meta = {"iou": cfg.iou, "min_samples": cfg.min_samples, "knots": cfg.knots,
                "strict_weight": cfg.strict_weight, **(info or {})}
        return cls(class_names, maps, meta)

    def _index(self, c) -> int:
        if isinstance(c, str):
            if c not in self.class_names:
                raise KeyError(f"class {c!r} is not one of {list(self.class_names)}")
            return self.class_names.index(c)
        return int(c)

    @property
    def calibrated_classes(self) -> tuple[str, ...]:
        return tuple(n for n, m in zip(self.class_names, self.maps) if m.calibrated)

    def apply(self, scores, classes) -> np.ndarray:
        """Calibrated scores of detections with raw ``scores`` and class ids ``classes``."""
        s = np.asarray(scores, np.float64).reshape(-1)
        c = np.asarray(classes, np.int64).reshape(-1)
        out = s.copy()
        for i, m in enumerate(self.maps):
            k = c == i
            if m.calibrated and k.any():
                out[k] = m.apply(s[k])
        return out

    def raw_threshold(self, calibrated_threshold: float, cls) -> float:
        """Raw score threshold of class ``cls`` (id or name) that keeps the same detections as
        ``calibrated_threshold`` on the calibrated scale."""
        return self.maps[self._index(cls)].raw_threshold(float(calibrated_threshold))

    def raw_thresholds(self, calibrated_threshold: float) -> np.ndarray:
        """(C,) raw thresholds, one per class id."""
        return np.array([m.raw_threshold(float(calibrated_threshold)) for m in self.maps], np.float64)

    def calibrate_decoded(self, d, calibrated_threshold: float):
        """Decoded detections ``d`` (raw scores, decoded with the smallest of :meth:`raw_thresholds`) of each class
        at or above its raw threshold, their scores calibrated."""
        kept = select_decoded(d, self.raw_thresholds(calibrated_threshold))
        return dataclasses.replace(kept, scores=self.apply(kept.scores, kept.classes))

    def to_meta(self) -> dict:
        classes = {}
        for name, m in zip(self.class_names, self.maps):
            d = {"status": "calibrated" if m.calibrated else "identity", "samples": int(m.samples),
                 "true_positives": int(m.true_positives)}
            if m.calibrated:
                d["knots"] = m.knots.tolist()  # full precision: rounding could make neighbours equal
            else:
                d["reason"] = m.reason
            classes[name] = d
        return {"format": FORMAT, "kind": KIND, **self.info, "classes": classes}

    @classmethod
    def from_meta(cls, d, class_names=None) -> "ScoreCalibration":
        """The calibration of metadata ``d`` (the ``calibration`` object); CalibrationError when malformed, of
        another format, or (``class_names`` given) for other classes."""
        if not isinstance(d, dict):
            raise CalibrationError(f"calibration must be an object, got {type(d).__name__}")
        if d.get("format") != FORMAT or d.get("kind") != KIND:
            raise CalibrationError(f"calibration format {d.get('format')!r} kind {d.get('kind')!r} is not "
                                   f"supported (expected format {FORMAT}, kind {KIND!r}): recalibrate with "
                                   "tracker-calibrate")
        classes = d.get("classes")
        if not isinstance(classes, dict) or not classes:
            raise CalibrationError("calibration.classes must be a non-empty object {class name: map}")
        names = tuple(classes) if class_names is None else tuple(class_names)
        if set(names) != set(classes):
            raise CalibrationError(f"calibration.classes {list(classes)} are not the model's classes {list(names)}")
        maps = [_map_from_meta(n, classes[n]) for n in names]
        return cls(names, maps, {k: v for k, v in d.items() if k not in ("format", "kind", "classes")})


def select_decoded(d, raw_thresholds: np.ndarray):
    """The decoded detections ``d`` (any dataclass of per-detection arrays with ``scores`` and ``classes``) whose
    raw score is at or above their class's threshold ``raw_thresholds[class]``."""
    keep = d.scores >= np.asarray(raw_thresholds, np.float64)[d.classes]
    return dataclasses.replace(d, **{f.name: getattr(d, f.name)[keep] for f in dataclasses.fields(d)})


def _map_from_meta(name: str, d) -> ClassMap:
    where = f"calibration.classes.{name}"
    if not isinstance(d, dict) or d.get("status") not in STATUSES:
        raise CalibrationError(f"{where}: an object with status one of {list(STATUSES)} expected, got {d!r:.80}")
    n, k = d.get("samples", 0), d.get("true_positives", 0)
    if d["status"] == "identity":
        return ClassMap(None, int(n), int(k), str(d.get("reason", "")))
    try:
        knots = np.asarray(d["knots"], np.float64)
    except (KeyError, TypeError, ValueError) as e:
        raise CalibrationError(f"{where}.knots: a list of [raw, calibrated] pairs expected ({e})") from e
    if knots.ndim != 2 or knots.shape[1] != 2 or len(knots) < 2 or not np.isfinite(knots).all():
        raise CalibrationError(f"{where}.knots: at least two finite [raw, calibrated] pairs expected, "
                               f"got shape {list(knots.shape)}")
    if np.any(np.diff(knots, axis=0) <= 0):
        raise CalibrationError(f"{where}.knots: raw and calibrated values must both be strictly increasing")
    if knots.min() < 0.0 or knots.max() > 1.0:
        raise CalibrationError(f"{where}.knots: values must lie in [0, 1]")
    return ClassMap(knots, int(n), int(k))


def model_calibration(meta: dict) -> ScoreCalibration | None:
    """The calibration of a model's metadata (None when it has none), checked against the model's classes and
    file hash (a calibration fitted for another model file, e.g. copied by tracker-quantize, is refused)."""
    if META_KEY not in meta:
        return None
    cal = ScoreCalibration.from_meta(meta[META_KEY], meta.get("class_names"))
    fitted = cal.info.get("model_hash")
    if fitted is not None and "version_hash" in meta and fitted != meta["version_hash"]:
        raise CalibrationError(f"calibration was fitted for model {fitted}, this is {meta['version_hash']}: "
                               "calibrate this model (tracker-calibrate MODEL.onnx --bags ...)")
    return cal


def check_score_scale(scale: str, calibration: ScoreCalibration | None,
                      where: str = "backend.detector.score_scale") -> None:
    """ConfigError unless the thresholds' scale ``scale`` is the model's: 'calibrated' needs a calibrated
    model, and a calibrated model needs 'calibrated' (thresholds on one scale never meet scores on the other)."""
    if scale not in SCORE_SCALES:
        raise ConfigError(f"{where} = {scale!r} is not one of {list(SCORE_SCALES)}")
    if scale == "calibrated" and calibration is None:
        raise ConfigError(f"{where} is 'calibrated' but the model has no score calibration in its metadata: "
                          "calibrate it (tracker-calibrate MODEL.onnx --bags ...), or set score_scale: raw with "
                          "thresholds tuned to this model's raw scores")
    if scale == "raw" and calibration is not None:
        raise ConfigError(f"{where} is 'raw' but the model's scores are calibrated (metadata 'calibration'): "
                          "re-express the thresholds on the calibrated scale (tracker-calibrate TUNED.onnx "
                          "--bags ... --express-thresholds NODE.yaml, TUNED being the model they were tuned for) "
                          "and set score_scale: calibrated")
