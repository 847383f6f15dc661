"""Units of tracker.eval: MOT files, preprocessing, errors, latency, config, eval set, conditions."""
from pathlib import Path

import numpy as np
import pytest
import yaml

from tracker.common.config import ConfigError, from_mapping
from tracker.data import motchallenge as mc
from tracker.eval import scoring
from tracker.eval.bagio import read_mot
from tracker.eval.config import EvalConfig, ScoringConfig, load_eval_config
from tracker.eval.evalset import condition_name, load_eval_set
from tracker.eval.evaluate import condition_of
from tracker.eval.metrics3d import latency_stats, position_errors
from tracker.eval.scoring import Obj, ScoringError

BOX = (10.0, 10.0, 30.0, 50.0)


def test_mot_round_trip_keeps_classes_and_scores(tmp_path):
    frames = {1: [Obj("a", "person", BOX, 0.8)], 3: [Obj("b", "vehicle", (0.0, 0.0, 5.0, 5.0), 0.5)]}
    p = mc.write_mot(tmp_path / "r.txt", frames)
    back = read_mot(p, is_gt=False)
    assert sorted(back) == [1, 3]
    assert back[1][0].cls == "person" and back[3][0].cls == "vehicle"
    assert back[1][0].box == pytest.approx(BOX) and back[1][0].score == pytest.approx(0.8)
    assert back[1][0].id != back[3][0].id


def test_mot15_columns_are_not_classes(tmp_path):
    p = tmp_path / "gt.txt"
    p.write_text("1,1,0,0,10,10,1,4.5,5.5,0\n1,2,20,0,10,10,0,-1,-1,-1\n")
    gt = read_mot(p, is_gt=True)
    assert [o.cls for o in gt[1]] == ["person", "person"]
    assert [o.zero_marked for o in gt[1]] == [False, True]


def test_bad_mot_file_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text("1,2,3\n")
    with pytest.raises(mc.MOTFormatError, match="columns"):
        read_mot(p, is_gt=True)


def test_duplicate_id_in_a_frame_is_a_scoring_error():
    gt = {1: [Obj("g", "person", BOX)]}
    pred = {1: [Obj("t", "person", BOX), Obj("t", "person", BOX)]}
    with pytest.raises(ScoringError, match="more than once"):
        scoring.score_sequence(gt, pred)


def test_perfect_tracking_scores_one():
    gt = {k: [Obj("g", "person", (k, 0.0, k + 10.0, 20.0))] for k in range(1, 6)}
    s = scoring.score_sequence(gt, gt).summary()
    assert s["HOTA"] == pytest.approx(1.0) and s["MOTA"] == pytest.approx(1.0) and s["IDF1"] == pytest.approx(1.0)


def test_distractor_preprocessing_removes_matched_predictions():
    gt = {1: [Obj("g", "person", BOX), Obj("d", "static_person", (100.0, 0.0, 120.0, 40.0))]}
    pred = {1: [Obj("1", "person", BOX), Obj("2", "person", (100.0, 0.0, 120.0, 40.0))]}
    plain = scoring.score_sequence(gt, pred, ScoringConfig()).summary()
    assert plain["CLR_FP"] == 1
    mot17 = scoring.score_sequence(gt, pred, ScoringConfig(distractor_classes=("static_person",))).summary()
    assert mot17["CLR_FP"] == 0 and mot17["MOTA"] == pytest.approx(1.0)


def test_zero_marked_gt_is_not_scored():
    gt = {1: [Obj("g", "person", BOX, zero_marked=True)]}
    assert scoring.score_sequence(gt, {}).per_class == {}


def test_position_errors_and_latency():
    gt2d = {1: [Obj("g", "person", BOX)]}
    gt3d = {1: {"g": np.array([0.0, 0.0, 5.0])}}
    pred = {1: [Obj("t", "person", BOX, position=(0.3, 0.4, 5.0)), Obj("u", "person", (200, 0, 210, 9))]}
    m = position_errors(gt2d, gt3d, pred)
    assert m["mean_position_error_m"] == pytest.approx(0.5) and m["valid3d_fraction"] == pytest.approx(0.5)
    lat = latency_stats([0.01] * 99 + [0.1], [0.0, 0.1, 0.2])
    assert lat["p50_ms"] == pytest.approx(10.0) and lat["max_ms"] == pytest.approx(100.0)
    assert lat["output_rate_hz"] == pytest.approx(10.0)


def test_config_file_and_errors(tmp_path):
    cfg = load_eval_config()
    assert isinstance(cfg, EvalConfig) and cfg.scoring.iou_threshold == 0.5
    with pytest.raises(ConfigError, match="iou_threshold"):
        from_mapping(EvalConfig, {"scoring": {"iou_threshold": 2.0}}, where="eval")
    with pytest.raises(ConfigError, match="unknown key"):
        from_mapping(EvalConfig, {"scoring": {"iou": 0.5}}, where="eval")


def test_eval_set_file_and_conditions(tmp_path):
    es = load_eval_set(Path(__file__).resolve().parents[1] / "config" / "eval_set.yaml")
    assert es.seeds and es.presets and es.duration_s > 0
    assert condition_name("night,dropout") == "night+dropout"
    bag = tmp_path / "sim_night_s0"
    bag.mkdir()
    assert condition_of(bag) == "external"
    (tmp_path / "sim_night_s0.calibration.yaml").write_text(yaml.safe_dump({"presets": ["night", "dropout"]}))
    assert condition_of(bag) == "night+dropout"


def test_the_evaluation_records_everything_it_scores_but_not_the_debug_image():
    """The debug image is ~270 MB per 10 s bag: a 28-bag evaluation recorded 7.5 GB of it and filled the disk."""
    from tracker.data.contract import OutputTopics
    from tracker.nodes.recorder import load_recorder_config
    from tracker.tools.evaluate import scoring_recorder_config
    topics, full = scoring_recorder_config().topics, load_recorder_config().topics
    out = OutputTopics()
    assert out.debug_image in full and out.debug_image not in topics
    assert set(topics) == set(full) - {out.debug_image}
    assert {out.tracks, out.tracks_2d} <= set(topics)
