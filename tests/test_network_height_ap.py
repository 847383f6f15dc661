"""Person AP by box-height bucket (tracker.network.metrics.HeightAP, tracker.network.evaluate): synthetic detections
and ground truth whose per-bucket APs are known by hand."""
import json
from pathlib import Path

import numpy as np
import pytest

from tracker.common.config import ConfigError, from_mapping, load_yaml
from tracker.network import evaluate as net_eval
from tracker.network.decode import Decoded
from tracker.network.metrics import HeightAP, HeightAPConfig, height_bucket_names
from tracker.network.preprocess import NormalisationConfig

SCALE = 0.5  # network-input px per image px: boxes below are in image px and stored x SCALE
PERSON, VEHICLE = 0, 1


def _gt(rows):
    """(box image px, class, visibility) -> cache rows in input px (x1, y1, x2, y2, class, id, vis, range)."""
    out = [(*(np.asarray(b, float) * SCALE), c, i, v, np.nan) for i, (b, c, v) in enumerate(rows)]
    return np.asarray(out, np.float32).reshape(-1, 8)


def _dets(rows):
    """(box image px, score, class) -> Decoded in input px."""
    n = len(rows)
    return Decoded(np.asarray([r[0] for r in rows], float).reshape(-1, 4) * SCALE,
                   np.asarray([r[1] for r in rows], float), np.asarray([r[2] for r in rows], np.int64),
                   np.zeros((n, 4), np.float32), np.zeros(n))


# day: <24: a detected, b missed (AP 1/2); 24-48: TP .9, FP .7, TP .5 (AP 1/2 + 1/2 * 2/3); 48-96: e detected,
# f hidden (visibility 0.1, ignored), the tall FP is outside the bucket (not an FP here): AP 1; >96: FP .95
# then TP .6 (AP 1/2). The vehicle is another class.
DAY_GT = [((10, 10, 16, 26), PERSON, 1.0), ((40, 10, 48, 30), PERSON, 1.0), ((100, 10, 110, 40), PERSON, 1.0),
          ((130, 10, 145, 50), PERSON, 0.9), ((200, 10, 220, 82), PERSON, 1.0), ((250, 10, 270, 70), PERSON, 0.1),
          ((400, 10, 450, 160), PERSON, 1.0), ((600, 10, 640, 40), VEHICLE, 1.0)]
DAY_DETS = [((10, 10, 16, 26), 0.9, PERSON), ((100, 10, 110, 40), 0.9, PERSON), ((300, 300, 310, 335), 0.7, PERSON),
            ((130, 10, 145, 50), 0.5, PERSON), ((200, 10, 220, 82), 0.8, PERSON), ((400, 10, 450, 160), 0.6, PERSON),
            ((500, 100, 560, 300), 0.95, PERSON), ((0, 0, 30, 30), 0.99, VEHICLE)]
# night: a 10 px person missed (<24: 0); a 47 px person found by a 49 px box (TP in 24-48, and no FP in 48-96,
# where its GT is an ignore region); an 80 px person found (48-96: 1)
NIGHT_GT = [((5, 5, 9, 15), PERSON, 1.0), ((600, 10, 620, 57), PERSON, 1.0), ((300, 100, 330, 180), PERSON, 1.0)]
NIGHT_DETS = [((600, 9, 620, 58), 0.4, PERSON), ((300, 100, 330, 180), 0.9, PERSON)]

EXPECTED = {"day": {"<24": 0.5, "24-48": 0.5 + 0.5 * 2 / 3, "48-96": 1.0, ">96": 0.5},
            "night": {"<24": 0.0, "24-48": 1.0, "48-96": 1.0, ">96": None},
            # all: <24 1 of 3 found at precision 1; 24-48 ranks TP .9, FP .7, TP .5, TP .4 of 3 GT
            "all": {"<24": 1 / 3, "24-48": (1 + 0.75 + 0.75) / 3, "48-96": 1.0, ">96": 0.5}}


def test_bucket_names_and_config():
    assert height_bucket_names((24, 48, 96)) == ["<24", "24-48", "48-96", ">96"]
    doc = load_yaml(Path(__file__).resolve().parents[1] / "config" / "network.yaml")
    cfg = from_mapping(HeightAPConfig, doc["evaluation"], where="evaluation")
    assert cfg.height_edges_px == (24.0, 48.0, 96.0) and cfg.cls == "person"
    with pytest.raises(ConfigError, match="strictly increasing"):
        from_mapping(HeightAPConfig, {"height_edges_px": [48, 24]}, where="evaluation")
    with pytest.raises(ConfigError, match="out of range"):
        from_mapping(HeightAPConfig, {"height_edges_px": [-1, 24]}, where="evaluation")
    hap = HeightAP(("person", "vehicle"))
    assert list(hap.bucket_of([0, 23.9, 24, 47.9, 48, 96, 500])) == [0, 0, 1, 1, 2, 3, 3]


def test_per_bucket_ap_is_known():
    hap = HeightAP(("person", "vehicle"))
    hap.add("day", _dets(DAY_DETS), _gt(DAY_GT), SCALE)
    hap.add("night", _dets(NIGHT_DETS), _gt(NIGHT_GT), SCALE)
    got = hap.result()
    for cond, buckets in EXPECTED.items():
        for b, ap in buckets.items():
            assert got[cond][b] == (None if ap is None else pytest.approx(ap, abs=1e-4)), (cond, b)
    assert hap.gt_counts()["day"] == {"<24": 2, "24-48": 2, "48-96": 1, ">96": 1}
    # other edges: one bucket boundary at 50 px
    two = HeightAP(("person", "vehicle"), HeightAPConfig(height_edges_px=(50.0,)))
    two.add("day", _dets(DAY_DETS), _gt(DAY_GT), SCALE)
    assert set(two.result()["day"]) == {"<50", ">50"}


class _Cache:
    """Duck-typed FrameCache: two frames in two clips (day, night), inputs unused by the fake backend."""
    conditions = ["day", "night"]
    a = {"clip": np.array([0, 1])}
    gts = [_gt(DAY_GT), _gt(NIGHT_GT)]

    def __len__(self):
        return 2

    def network_inputs(self, i, modalities, norm):
        return {"rgb": np.full((1, 2, 2), i, np.float32)}

    def objects(self, i):
        return self.gts[i]


class _Backend:
    class meta:
        data = {"class_names": ["person", "vehicle"], "stride": 4, "normalisation": NormalisationConfig().to_meta()}

    def infer(self, inputs):
        return {"frame": int(inputs["rgb"][0, 0, 0, 0])}


def test_evaluate_backend_reports_and_prints_by_height(monkeypatch):
    frames = [_dets(DAY_DETS), _dets(NIGHT_DETS)]
    monkeypatch.setattr(net_eval, "decode", lambda out, *a, **k: frames[out["frame"]])
    r = net_eval.evaluate_backend(_Backend(), _Cache(), scales=[SCALE, SCALE])
    assert set(r) == {"conditions", "by_height"} and set(r["conditions"]) == {"day", "night", "all"}
    h = json.loads(json.dumps(r))["by_height"]  # JSON as written by --out
    assert h["edges_px"] == [24.0, 48.0, 96.0] and h["class"] == "person"
    assert h["ap"]["all"]["24-48"] == pytest.approx(EXPECTED["all"]["24-48"], abs=1e-4)
    assert h["gt"]["all"]["<24"] == 3
    lines = net_eval.summary_lines("m [all]", r)
    assert lines[1] == "m [all] person AP@0.5 by box height (image px): <24 0.333 (n=3), 24-48 0.833 (n=3), " \
                       "48-96 1.000 (n=2), >96 0.500 (n=1)"
