"""Calibrated scores (tracker.network.calibration): isotonic fit against a known precision curve, the inverse used
for thresholding, the metadata format, the Detector on a calibrated model, the shipped model unchanged, the scale
check, tracker-calibrate on a tiny bag and the thresholds expressed on the calibrated scale."""
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from network_helpers import exported_tiny
from tracker.common.config import ConfigError
from tracker.network.calibration import (CalibrationConfig, CalibrationError, ClassMap, ScoreCalibration,
                                         check_score_scale, isotonic_blocks, model_calibration)
from tracker.network.thresholds import express_thresholds

NAMES = ("person", "vehicle")
ROOT = Path(__file__).resolve().parents[1]
NODE_YAML = str(ROOT / "config" / "tracker_node.yaml")


def _synthetic(n=20000, seed=0):
    """Scores uniform in [0, 1], true positive with probability s^2 (the precision curve)."""
    g = np.random.default_rng(seed)
    s = g.random(n)
    return s, g.random(n) < s ** 2


def _cal(**knots):
    """A calibration with the given person knots (vehicle: identity)."""
    maps = [ClassMap(np.asarray(knots.get("person", [[0, 0], [0.5, 0.1], [1, 1]]), float), 500, 100),
            ClassMap(None, 3, 1, "3 samples < min_samples 200")]
    return ScoreCalibration(NAMES, maps, {"iou": 0.5})


def test_pool_adjacent_violators_by_hand():
    x, v, w = isotonic_blocks([1, 2, 3, 4, 5, 6], [1, 3, 2, 4, 3, 5])
    assert v.tolist() == [1, 2.5, 3.5, 5] and w.tolist() == [1, 2, 2, 1] and x.tolist() == [1, 2.5, 4.5, 6]
    _, v, _ = isotonic_blocks([3, 1, 2, 2], [0, 1, 1, 0])  # unsorted, tied x pooled first: all one block
    assert v.tolist() == [0.5]


def test_isotonic_fit_recovers_a_known_precision_curve():
    s, tp = _synthetic()
    cal = ScoreCalibration.fit(NAMES, {0: (s, tp)}, CalibrationConfig(knots=32))
    m = cal.maps[0]
    assert m.calibrated and len(m.knots) <= 32 and m.knots[0, 0] == 0.0 and m.knots[-1, 0] == 1.0
    assert np.all(np.diff(m.knots, axis=0) > 0)  # strictly increasing in both
    grid = np.linspace(0.05, 0.95, 91)
    assert np.max(np.abs(m.apply(grid) - grid ** 2)) < 0.05
    assert not cal.maps[1].calibrated and "0 samples < min_samples 200" in cal.maps[1].reason


def test_raw_threshold_is_the_inverse_and_keeps_the_same_decisions():
    s, tp = _synthetic(seed=1)
    cal = ScoreCalibration.fit(NAMES, {0: (s, tp)}, CalibrationConfig())
    raw = np.random.default_rng(2).random(5000)
    for t in np.linspace(0.01, 0.99, 25):
        r = cal.raw_threshold(t, "person")
        assert cal.apply([r], [0])[0] >= t and abs(cal.apply([r], [0])[0] - t) < 1e-9
        assert np.array_equal(raw >= r, cal.apply(raw, np.zeros_like(raw, int)) >= t)
    assert cal.raw_threshold(-1.0, 0) == float("-inf") and cal.raw_threshold(1.5, 0) == float("inf")
    assert cal.raw_threshold(0.37, "vehicle") == 0.37  # identity
    assert cal.apply([0.2, 0.2], [1, 1]).tolist() == [0.2, 0.2]
    assert cal.raw_thresholds(0.5).tolist() == [cal.raw_threshold(0.5, 0), 0.5]


def test_metadata_round_trip_and_malformed_metadata():
    cal = ScoreCalibration.fit(NAMES, {0: _synthetic()}, CalibrationConfig(), {"model_hash": "abc"})
    d = json.loads(json.dumps(cal.to_meta()))
    assert d["format"] == 1 and d["classes"]["vehicle"]["status"] == "identity" and "reason" in d["classes"]["vehicle"]
    back = ScoreCalibration.from_meta(d, NAMES)
    grid = np.linspace(0, 1, 101)
    assert np.array_equal(back.apply(grid, np.zeros(101, int)), cal.apply(grid, np.zeros(101, int)))
    assert back.info["model_hash"] == "abc"
    bad = [({**d, "format": 2}, "format 2"), ({**d, "classes": {}}, "non-empty"), ([1], "must be an object"),
           ({**d, "classes": {"person": d["classes"]["person"]}}, "not the model's classes"),
           ({**d, "classes": {**d["classes"], "person": {"status": "calibrated", "knots": [[0, 0.5], [1, 0.2]]}}},
            "strictly increasing"),
           ({**d, "classes": {**d["classes"], "person": {"status": "calibrated", "knots": "x"}}}, "pairs"),
           ({**d, "classes": {**d["classes"], "person": {"status": "calibrated", "knots": [[0, 0], [1, 2]]}}},
            r"\[0, 1\]"),
           ({**d, "classes": {**d["classes"], "person": {"status": "maybe"}}}, "status one of")]
    for meta, msg in bad:
        with pytest.raises(CalibrationError, match=msg):
            ScoreCalibration.from_meta(meta, NAMES)
    with pytest.raises(CalibrationError, match="fitted for model abc"):
        model_calibration({"class_names": list(NAMES), "version_hash": "def", "calibration": d})
    assert model_calibration({"class_names": list(NAMES)}) is None


def test_scale_mismatch_is_a_configuration_error():
    check_score_scale("raw", None)
    check_score_scale("calibrated", _cal())
    with pytest.raises(ConfigError, match="no score calibration"):
        check_score_scale("calibrated", None)
    with pytest.raises(ConfigError, match="re-express the thresholds"):
        check_score_scale("raw", _cal())


def _calibrated_copy(tmp_path, knots):
    """The tiny exported model in ``tmp_path`` with a person calibration ``knots`` in its metadata."""
    _, path, meta_path = exported_tiny()
    shutil.copy(path, tmp_path / "m.onnx")
    meta = json.loads(meta_path.read_text())
    cal = ScoreCalibration(NAMES, [ClassMap(np.asarray(knots, float), 500, 100), ClassMap(None, 0, 0, "none")],
                           {"model_hash": meta["version_hash"]})
    meta["calibration"] = cal.to_meta()
    (tmp_path / "m.json").write_text(json.dumps(meta))
    return tmp_path / "m.onnx", cal


def test_detector_on_a_calibrated_model(tmp_path):
    pytest.importorskip("onnxruntime")
    from tracker.network.factory import make_detector
    knots = [[0, 0], [0.3, 0.02], [0.6, 0.9], [1, 1]]
    model, cal = _calibrated_copy(tmp_path, knots)
    opts = {"order": ["onnxruntime"], "threads": 1}
    rgb = np.random.default_rng(0).integers(0, 255, (64, 64, 3)).astype(np.uint8)
    with pytest.raises(ConfigError, match="score_scale is 'raw' but the model's scores are calibrated"):
        make_detector(opts, {"score_threshold": 0.0}, str(model))
    dcfg = {"score_threshold": 0.0, "score_scale": "calibrated", "min_box_px": 0.0}
    raw_det = make_detector(opts, dcfg, str(model))
    raw_det.calibration = None  # the same model read raw: every peak with its raw score
    ref = raw_det.detect(rgb)
    det = make_detector(opts, dcfg, str(model))
    assert det.describe().scores_calibrated and "calibrated scores" in det.describe().summary()
    assert not raw_det.describe().scores_calibrated
    person = np.unique(cal.apply(ref.scores, ref.classes)[ref.classes == 0])
    t = float(person[len(person) // 2 - 1: len(person) // 2 + 1].mean())  # between two calibrated scores
    det.config = dataclasses.replace(det.config, score_threshold=t)  # as a runtime parameter change does
    got = det.detect(rgb)
    want_scores = cal.apply(ref.scores, ref.classes)
    keep = want_scores >= t
    assert 0 < keep.sum() < len(ref) and len(got) == keep.sum()
    assert np.allclose(got.scores, want_scores[keep]) and np.array_equal(got.classes, ref.classes[keep])
    assert np.array_equal(got.boxes, ref.boxes[keep]) and np.all(got.scores >= t)
    assert not np.allclose(got.scores[got.classes == 0], ref.scores[keep & (ref.classes == 0)])  # mapped
    assert np.all(got.scores[got.classes == 1] == ref.scores[keep & (ref.classes == 1)])  # identity class


def test_shipped_model_without_calibration_is_unchanged():
    pytest.importorskip("onnxruntime")
    from tracker.backends import BackendConfig, create_backend
    from tracker.network.decode import decode
    from tracker.network.detector import Detector, DetectorConfig
    b = create_backend(BackendConfig(order=("onnxruntime",), device="cpu", threads=1),
                       ROOT / "models" / "embedded.onnx")
    assert "calibration" not in b.meta.data  # the lead calibrates the next default model
    det = Detector(b, DetectorConfig(score_threshold=0.1))
    assert det.calibration is None and not det.describe().scores_calibrated
    g = np.random.default_rng(1)
    rgb = g.integers(0, 255, (240, 320, 3)).astype(np.uint8)
    det.config = DetectorConfig(score_threshold=0.02)
    got = det.detect(rgb)
    inputs, lb, _ = det.preprocess(rgb, None, None, None)
    d = decode(b.infer(inputs), 100, 0.02, stride=det.stride)  # what detect() did before calibration existed
    boxes = lb.boxes_to_image(d.boxes)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, 320)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, 240)
    keep = ((boxes[:, 2] - boxes[:, 0]) >= 2) & ((boxes[:, 3] - boxes[:, 1]) >= 2)
    assert len(got) > 0 and np.array_equal(got.scores, d.scores[keep]) and np.array_equal(got.boxes, boxes[keep])
    assert np.array_equal(got.classes, d.classes[keep]) and np.array_equal(got.embeddings, d.embeddings[keep])
    with pytest.raises(ConfigError, match="no score calibration"):
        Detector(b, DetectorConfig(score_scale="calibrated"))


def test_cli_fits_writes_and_expresses_thresholds(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("rosbags")
    from train_helpers import vtmot_bag
    from tracker.network import calibrate
    _, path, meta_path = exported_tiny()
    shutil.copy(path, tmp_path / "m.onnx")
    shutil.copy(meta_path, tmp_path / "m.json")
    before = json.loads(meta_path.read_text())
    args = [str(tmp_path / "m.onnx"), "--bags", str(vtmot_bag()), "--cache-dir", str(tmp_path / "cache"),
            "--min-samples", "20", "--raw-threshold", "0.0", "--threads", "1", "--config",
            str(ROOT / "config" / "network.yaml")]
    assert calibrate.main(args + ["--express-thresholds", NODE_YAML]) == 0
    out = capsys.readouterr().out
    assert "raw bin      count  mean raw  mean cal  precision" in out and "ECE raw" in out
    meta = json.loads((tmp_path / "m.json").read_text())
    assert {k: v for k, v in meta.items() if k != "calibration"} == before  # everything else kept
    cal = model_calibration(meta)
    for c, m in zip(cal.class_names, cal.maps):
        entry = meta["calibration"]["classes"][c]
        assert m.calibrated == (entry["samples"] >= 20) and entry["status"] in ("calibrated", "identity")
    assert meta["calibration"]["fitted_on"]["frames"] == 4
    snippet = yaml.safe_load(out[out.index("backend:"):])
    assert snippet["backend"]["detector"]["score_scale"] == "calibrated"
    person = snippet["tracker"]["classes"]["person"]
    assert person["high_score"] == pytest.approx(float(cal.apply([0.35], [0])[0]), abs=1e-4)
    assert calibrate.main([str(tmp_path / "m.onnx"), "--express-thresholds", NODE_YAML]) == 0
    assert "score_scale: calibrated" in capsys.readouterr().out  # from the calibration now in the metadata
    assert calibrate.main([str(tmp_path / "m.onnx")]) == 2


def test_expressed_thresholds_keep_the_decisions(tmp_path):
    cal = _cal(person=[[0, 0], [0.2, 0.05], [0.4, 0.5], [0.6, 0.95], [1, 1]])
    node = tmp_path / "node.yaml"
    node.write_text("tracker:\n  classes:\n    person: {high_score: 0.35, new_track_score: 0.45}\n    vehicle: {}\n"
                    "backend:\n  detector: {score_threshold: 0.1}\n")
    doc = yaml.safe_load("\n".join(express_thresholds(cal, node, "m.onnx")))
    p, v = doc["tracker"]["classes"]["person"], doc["tracker"]["classes"]["vehicle"]
    raw = np.random.default_rng(3).random(20000)
    for cal_t, raw_t in ((p["high_score"], 0.35), (p["new_track_score"], 0.45), (p["low_score"], 0.1)):
        changed = (raw >= raw_t) != (cal.maps[0].apply(raw) >= cal_t)
        assert np.all((raw[changed] < raw_t) & (raw[changed] > raw_t - 1e-3))  # the rounding band (4 decimals)
    assert v["high_score"] == 0.5 and v["new_track_score"] == 0.6  # vehicle: identity, the code defaults
    shared = min(float(cal.maps[0].apply(0.1)), 0.1)  # person 0.025, vehicle (identity) 0.1: the smallest
    assert shared - 1e-4 < doc["backend"]["detector"]["score_threshold"] <= shared
    node.write_text("backend:\n  detector: {score_scale: calibrated}\n")
    with pytest.raises(ConfigError, match="not raw scores"):
        express_thresholds(cal, node)
