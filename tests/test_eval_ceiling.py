"""tracker.eval.ceiling: detections corrected towards their matching GT box, for the box-quality ceiling
(scripts/box_ceiling.py); the tracker replay of the corrected inputs scores higher, never lower."""
import numpy as np
import pytest

from tracker.core import TrackerConfig
from tracker.core.types import Detections
from tracker.eval import bagio
from tracker.eval.ceiling import corrected
from tracker.eval.config import EvalConfig
from tracker.eval.scoring import Obj
from tracker.eval.tune import BagInputs, TrackerInput, score
from tracker.pipeline.processor import OutputConfig

NS = 1_000_000_000
GT_BOX = (100.0, 50.0, 140.0, 150.0)   # a person, 40 x 100 px
DET_BOX = (96.0, 58.0, 152.0, 150.0)  # found, but 56 px wide and 8 px short: IoU 0.67
FP_BOX = (400.0, 40.0, 420.0, 90.0)   # a window


def _bag(n=30):
    stamps = np.arange(1, n + 1, dtype=np.int64) * NS // 10
    gt = bagio.GroundTruth(stamps_ns=stamps, frames2d={k: [Obj("7", "person", GT_BOX)] for k in range(1, n + 1)},
                           has2d=True)
    boxes = np.array([DET_BOX, FP_BOX])
    det = Detections(boxes, np.array([0.9, 0.8]), np.array([0, 0]), embeddings=np.eye(2, 8))
    frames = tuple(TrackerInput(int(s), det, None, frozenset({"rgb"}), None) for s in stamps)
    return BagInputs("b", frames, gt, "w", "day")


def _first(b):
    return b.frames[0].detections


def test_each_mode_corrects_only_the_matched_detection():
    cfg, names = EvalConfig(), ("person", "vehicle")
    b = _bag()
    centre = _first(corrected(b, "centre", cfg, names, 0.3))
    assert np.allclose(centre.boxes[0], (92.0, 54.0, 148.0, 146.0)) and np.allclose(centre.boxes[1], FP_BOX)
    size = _first(corrected(b, "size", cfg, names, 0.3))
    assert np.allclose(size.boxes[0], (104.0, 54.0, 144.0, 154.0))
    snap = _first(corrected(b, "snap", cfg, names, 0.3))
    assert np.allclose(snap.boxes[0], GT_BOX) and len(snap) == 2 and snap.embeddings.shape == (2, 8)
    drop = _first(corrected(b, "snap_drop", cfg, names, 0.3))
    assert np.allclose(drop.boxes, [GT_BOX]) and drop.scores.tolist() == [0.9] and drop.embeddings.shape == (1, 8)
    assert np.allclose(_first(corrected(b, "snap", cfg, names, 0.7)).boxes[0], DET_BOX)  # below min_iou: as found
    assert np.allclose(_first(b).boxes[0], DET_BOX)  # the input is not changed
    with pytest.raises(ValueError, match="mode"):
        corrected(b, "perfect", cfg, names, 0.3)


def test_better_boxes_score_higher_and_dropping_false_positives_higher_still():
    cfg, names = EvalConfig(), ("person", "vehicle")
    trk = TrackerConfig()
    hota = {m: score([b], trk, OutputConfig(), cfg)["combined"]["person"]["HOTA"]
            for m, b in (("as", _bag()), *((m, corrected(_bag(), m, cfg, names, 0.3)) for m in ("snap", "snap_drop")))}
    assert hota["as"] < hota["snap"] < hota["snap_drop"], hota
