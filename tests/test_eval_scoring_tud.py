"""Acceptance: motmetrics' bundled real MOT15 files (TUD-Campus, TUD-Stadtmitte) through tracker.eval.scoring
give TrackEval's HOTA (TrackEval run in its standard way, MotChallenge2DBox with BENCHMARK MOT15) and
motmetrics' MOTA/IDF1/IDSW (loadtxt mot15-2D, IoU distance max 0.5) within 1e-6."""
import os
import shutil

import numpy as np
import pytest

motmetrics = pytest.importorskip("motmetrics")
trackeval = pytest.importorskip("trackeval")

from tracker.data import motchallenge as mc  # noqa: E402
from tracker.eval.bagio import read_mot  # noqa: E402
from tracker.eval import scoring  # noqa: E402
from tracker.eval.config import ScoringConfig  # noqa: E402

SEQS = ("TUD-Campus", "TUD-Stadtmitte")
DATA = os.path.join(os.path.dirname(motmetrics.__file__), "data")
TOL = 1e-6


def _seq_len(seq):
    return max(int(line.split(",")[0]) for f in ("gt.txt", "test.txt")
               for line in open(os.path.join(DATA, seq, f)) if line.strip())


@pytest.fixture(scope="module")
def reference_trackeval(tmp_path_factory):
    root = tmp_path_factory.mktemp("te")
    for seq in SEQS:
        (root / "gt" / seq / "gt").mkdir(parents=True)
        shutil.copy(os.path.join(DATA, seq, "gt.txt"), root / "gt" / seq / "gt" / "gt.txt")
        (root / "trackers" / "ref" / "data").mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(DATA, seq, "test.txt"), root / "trackers" / "ref" / "data" / f"{seq}.txt")
    ev = trackeval.Evaluator({"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False,
                              "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False,
                              "TIME_PROGRESS": False, "DISPLAY_LESS_PROGRESS": True})
    ds = trackeval.datasets.MotChallenge2DBox({
        "GT_FOLDER": str(root / "gt"), "TRACKERS_FOLDER": str(root / "trackers"), "BENCHMARK": "MOT15",
        "SKIP_SPLIT_FOL": True, "SEQ_INFO": {s: _seq_len(s) for s in SEQS}, "TRACKERS_TO_EVAL": ["ref"],
        "PRINT_CONFIG": False})
    metrics = [trackeval.metrics.HOTA({"PRINT_CONFIG": False}), trackeval.metrics.CLEAR({"PRINT_CONFIG": False}),
               trackeval.metrics.Identity({"PRINT_CONFIG": False})]
    res, _ = ev.evaluate([ds], metrics)
    return {k: v["pedestrian"] for k, v in res["MotChallenge2DBox"]["ref"].items()}


@pytest.fixture(scope="module")
def reference_motmetrics():
    accs = []
    for seq in SEQS:
        gt = motmetrics.io.loadtxt(os.path.join(DATA, seq, "gt.txt"), fmt="mot15-2D", min_confidence=1)
        ts = motmetrics.io.loadtxt(os.path.join(DATA, seq, "test.txt"), fmt="mot15-2D")
        accs.append(motmetrics.utils.compare_to_groundtruth(gt, ts, "iou", distth=0.5))
    mh = motmetrics.metrics.create()
    df = mh.compute_many(accs, metrics=["mota", "idf1", "num_switches"], names=list(SEQS), generate_overall=True)
    return {name: df.loc[name] for name in list(SEQS) + ["OVERALL"]}


@pytest.fixture(scope="module")
def ours():
    cfg = ScoringConfig()
    out = {}
    for seq in SEQS:
        gt = read_mot(os.path.join(DATA, seq, "gt.txt"), is_gt=True, cfg=cfg)
        pr = read_mot(os.path.join(DATA, seq, "test.txt"), is_gt=False, cfg=cfg)
        out[seq] = scoring.score_sequence(gt, pr, cfg, name=seq, num_frames=mc.num_frames(gt, pr))
    out["COMBINED"] = scoring.combine_sequences([out[s] for s in SEQS], cfg)
    return out


@pytest.mark.parametrize("seq", SEQS + ("COMBINED",))
def test_hota_family_equals_trackeval(seq, ours, reference_trackeval):
    ref = reference_trackeval["COMBINED_SEQ" if seq == "COMBINED" else seq]
    for cls in ("all", "person"):
        s = ours[seq].summary(cls)
        for f in ("HOTA", "DetA", "AssA", "LocA"):
            assert s[f] == pytest.approx(float(np.mean(ref["HOTA"][f])), abs=TOL), (seq, cls, f)
        assert s["MOTA"] == pytest.approx(float(ref["CLEAR"]["MOTA"]), abs=TOL)
        assert s["IDF1"] == pytest.approx(float(ref["Identity"]["IDF1"]), abs=TOL)
        assert s["IDSW"] == int(ref["CLEAR"]["IDSW"])


@pytest.mark.parametrize("seq", SEQS + ("COMBINED",))
def test_mota_idf1_equal_motmetrics(seq, ours, reference_motmetrics):
    ref = reference_motmetrics["OVERALL" if seq == "COMBINED" else seq]
    s = ours[seq].summary()
    assert s["MOTA"] == pytest.approx(float(ref["mota"]), abs=TOL)
    assert s["IDF1"] == pytest.approx(float(ref["idf1"]), abs=TOL)
    assert s["IDSW"] == int(ref["num_switches"])


def test_known_values(ours):
    """The numbers themselves (TrackEval 1.0 / motmetrics 1.4), as a regression guard."""
    assert ours["TUD-Campus"].summary()["HOTA"] == pytest.approx(0.391397437845, abs=TOL)
    assert ours["TUD-Campus"].summary()["MOTA"] == pytest.approx(0.526462395543, abs=TOL)
    assert ours["TUD-Stadtmitte"].summary()["IDF1"] == pytest.approx(0.644619422572, abs=TOL)
