"""The score thresholds of a node YAML, tuned for a model's raw scores, expressed on its calibrated scale
(``tracker-calibrate MODEL --express-thresholds NODE.yaml``).

The calibration of a class is strictly increasing, so for that model a raw threshold t and f(t) make the same
decision for every detection of the class: the per-class thresholds (tracker.classes.*.high_score, low_score,
new_track_score) carry over exactly. A threshold that is one value for all classes (backend.detector
.score_threshold, tracker.embedding_min_score) maps to one value per class; the smallest is printed, which is
exact for the classes that map to it and lets a little more through for the others (said in the comments).
Values are rounded down to 6 decimals, so a detection kept before is kept after.
"""
from __future__ import annotations

import math

from tracker.common.config import ConfigError, from_mapping, load_yaml
from tracker.core.config import TrackerConfig
from tracker.core.tracker import SCORE_FIELDS

from .calibration import ScoreCalibration
from .detector import DetectorConfig

DECIMALS = 6  # printed values are rounded down to this many decimals (the map is never flatter than
#              strict_weight, so a raw threshold moves by at most 1e-6 / 0.001 = 1e-3)


def _down(v: float) -> float:
    return math.floor(float(v) * 10 ** DECIMALS) / 10 ** DECIMALS


def mapped(cal: ScoreCalibration, raw: float, cls: str) -> float:
    """Calibrated value of raw score ``raw`` of class ``cls``, rounded down."""
    return _down(cal.maps[cal.class_names.index(cls)].apply(raw))


def _shared(cal: ScoreCalibration, raw: float, classes) -> tuple[float, list[str], str]:
    """(value, classes it is looser for, comment) of a threshold shared by all classes: the smallest mapped
    value."""
    per = {c: mapped(cal, raw, c) for c in classes}
    low = min(per.values())
    looser = [c for c, v in per.items() if v > low]
    note = ", ".join(f"{c} {v:g}" for c, v in per.items())
    tail = f"; looser than before for {', '.join(looser)}" if looser else "; exact for every class"
    return low, looser, f"raw {raw:g} -> {note}: one value for all classes, the smallest{tail}"


def express_thresholds(cal: ScoreCalibration, yaml_path, model: str = "") -> list[str]:
    """YAML lines (with comments) of the node YAML's effective thresholds on ``cal``'s calibrated scale."""
    doc = load_yaml(yaml_path) or {}
    det_map = (doc.get("backend") or {}).get("detector") or {}
    det = from_mapping(DetectorConfig, det_map, where="backend.detector")
    if det.score_scale != "raw":
        raise ConfigError(f"{yaml_path}: backend.detector.score_scale is {det.score_scale!r}: its thresholds are "
                          "not raw scores")
    trk = TrackerConfig.from_mapping(doc.get("tracker") or {})
    missing = [c for c in trk.class_names if c not in cal.class_names]
    if missing:
        raise ConfigError(f"{yaml_path}: tracker classes {missing} are not classes of the calibration "
                          f"{list(cal.class_names)}")
    thr, looser, thr_note = _shared(cal, det.score_threshold, trk.class_names)
    if looser and all(trk.classes[c].low_score >= det.score_threshold for c in looser):
        thr_note += " (only detections_2d shows more: their low_score still cuts where it did)"
    emb, _, emb_note = _shared(cal, trk.embedding_min_score, trk.class_names)
    lines = [f"# {yaml_path}: its score thresholds (raw scores of {model or 'the model'}) on the calibrated scale;",
             "# with these values and score_scale: calibrated this model makes the same per-class threshold",
             f"# decisions (rounded down to {DECIMALS} decimals). Uncalibrated classes (identity) keep their values.",
             "backend:", "  detector:", "    score_scale: calibrated",
             f"    score_threshold: {thr:g}  # {thr_note}", "tracker:", "  classes:"]
    for c in trk.class_names:
        p = trk.classes[c]
        m = cal.maps[cal.class_names.index(c)]
        lines.append(f"    {c}:" + ("" if m.calibrated else "  # identity map (not calibrated)"))
        lines += [f"      {f}: {mapped(cal, getattr(p, f), c):g}  # raw {getattr(p, f):g}" for f in SCORE_FIELDS]
    lines.append(f"  embedding_min_score: {emb:g}  # {emb_note}")
    low_below = [c for c in trk.class_names if trk.classes[c].low_score < det.score_threshold]
    if low_below:
        lines.append(f"# note: low_score of {', '.join(low_below)} is below score_threshold, so the detector's "
                     "threshold is that class's real cut")
    return lines
