"""Scoring path (a): an output bag + the input bag's GT, through tracker.eval.evaluate and the CLI, on bags
written here with rosbags (GT-derived tracks with perturbations); no node suite needed."""
import json

import numpy as np
import pytest

from tracker.common.geometry import CameraModel
from tracker.data.writer import BagWriter, Det2D, Det3D
from tracker.eval import cli, evaluate, scoring
from tracker.eval.baselines import boxmot_available
from tracker.eval.bagio import OutputTopics, align, gt_from_bag, predictions_from_bag
from tracker.eval.config import EvalConfig
from tracker.eval.evaluate import aggregate, evaluate_bag
from tracker.eval.report import SCORECARD_BEGIN, SCORECARD_END

RATE_HZ = 30.0
N_FRAMES = 30
T0 = 1_700_000_000.0
FRAME = "camera_color_optical_frame"
OFFSET_3D_M = 0.1
LATENCY_S = 0.02
W, H = 64, 48


def _gt_objects(k):
    """(id, cls, box, centre) of frame k (0-based): three people and a vehicle moving right."""
    out = []
    for i in range(3):
        x = 5.0 + 20.0 * i + 0.5 * k
        out.append((f"person_{i}", "person", (x, 10.0, x + 8.0, 30.0), np.array([i - 1.0, 0.5, 5.0 + i])))
    out.append(("vehicle_0", "vehicle", (2.0 + k, 30.0, 22.0 + k, 44.0), np.array([0.0, 1.0, 12.0])))
    return out


def _stamp(k):
    return T0 + k / RATE_HZ


def _perturbed(k, rng):
    """Predictions of frame k: jittered boxes, person_1 switches id at frame 15, person_2 missed in 10..12,
    3D = GT + OFFSET_3D_M along x for people, NaN for the vehicle."""
    out = []
    for oid, cls, box, c in _gt_objects(k):
        if oid == "person_2" and 10 <= k <= 12:
            continue
        tid = {"person_0": "7", "person_1": "8" if k < 15 else "9", "person_2": "10", "vehicle_0": "11"}[oid]
        b = tuple(float(v) for v in np.asarray(box) + rng.uniform(-0.5, 0.5, 4))
        pos = c + np.array([OFFSET_3D_M, 0, 0]) if cls == "person" else np.full(3, np.nan)
        out.append((tid, cls, b, pos))
    return out


def write_input(path, with_images=True, with_gt=True):
    cam = CameraModel.from_fov(W, H, 60.0, FRAME)
    with BagWriter(path) as w:
        for k in range(N_FRAMES):
            t = _stamp(k)
            if with_images:
                w.write_camera_info("/camera/color/camera_info", t, cam)
                w.write_image("/camera/color/image_raw", t, FRAME, np.zeros((H, W, 3), np.uint8), "rgb8")
            if with_gt:
                objs = _gt_objects(k)
                w.write_detections_3d("/ground_truth/tracks", t, FRAME,
                                      [Det3D(o, c, ctr, np.ones(3)) for o, c, _, ctr in objs])
                w.write_detections_2d("/ground_truth/tracks_2d", t, FRAME, [Det2D(o, c, b, 1.0) for o, c, b, _ in objs])
    return path


def write_output(path, seed=0):
    rng = np.random.default_rng(seed)
    frames = {}
    with BagWriter(path, latency_s=LATENCY_S) as w:
        for k in range(N_FRAMES):
            objs = _perturbed(k, rng)
            t = _stamp(k) + (0.001 if k % 2 else 0.0)  # odd frames: stamp off by 1 ms -> nearest-stamp match
            w.write_detections_2d("/tracker/tracks_2d", t, FRAME, [Det2D(i, c, b, 0.9) for i, c, b, _ in objs])
            w.write_detections_3d("/tracker/tracks", t, FRAME, [Det3D(i, c, p, np.ones(3), score=0.9)
                                                                 for i, c, _, p in objs])
            w.write_detections_2d("/tracker/detections_2d", t, FRAME, [Det2D("", c, b, 0.9) for _, c, b, _ in objs])
            frames[k + 1] = [scoring.Obj(i, c, b, 0.9) for i, c, b, _ in objs]
        # an output frame far from any GT frame: not scored, reported
        w.write_detections_2d("/tracker/tracks_2d", _stamp(N_FRAMES + 5), FRAME, [])
    return path, frames


@pytest.fixture(scope="module")
def bags(tmp_path_factory):
    d = tmp_path_factory.mktemp("bags")
    inp = write_input(d / "input")
    out, frames = write_output(d / "output")
    return d, inp, out, frames


def test_gt_and_predictions_from_bags(bags):
    _, inp, out, frames = bags
    gt = gt_from_bag(inp)
    assert gt.num_frames == N_FRAMES and gt.has2d and gt.has3d
    assert [o.id for o in gt.frames2d[1]] == ["person_0", "person_1", "person_2", "vehicle_0"]
    pred = predictions_from_bag(out, gt)
    assert sorted(pred.frames) == list(range(1, N_FRAMES + 1))
    assert pred.unmatched_frames == 1
    assert np.allclose(pred.latencies_s, LATENCY_S, atol=1e-6)
    assert len(pred.detections) == N_FRAMES
    # same scores as scoring the in-memory predictions directly
    a = scoring.score_sequence(gt.frames2d, pred.frames, EvalConfig().scoring).summaries()
    b = scoring.score_sequence(gt.frames2d, frames, EvalConfig().scoring).summaries()
    for cls in a:
        for f in ("HOTA", "MOTA", "IDF1", "IDSW"):
            assert a[cls][f] == pytest.approx(b[cls][f], abs=1e-9)


def test_evaluate_bag_scores_3d_latency(bags):
    d, inp, out, _ = bags
    res = evaluate_bag(inp, d / "eval", EvalConfig(), pred=out, log=lambda s: None)
    suite = res.methods["suite"]
    s = suite.scores.summaries()
    assert set(s) == {"all", "person", "vehicle"}
    assert s["person"]["IDSW"] == 1 and s["vehicle"]["IDSW"] == 0
    assert s["person"]["CLR_FN"] == 3  # person_2 missed in 3 frames
    assert 0.8 < s["all"]["HOTA"] < 1.0 and s["all"]["MOTA"] > 0.9
    assert suite.metrics3d["mean_position_error_m"] == pytest.approx(OFFSET_3D_M, abs=1e-6)
    assert suite.metrics3d["valid3d_fraction"] == pytest.approx((3 * N_FRAMES - 3) / (4 * N_FRAMES - 3))
    assert suite.latency["p50_ms"] == pytest.approx(LATENCY_S * 1000, abs=1e-3)
    assert suite.latency["output_rate_hz"] == pytest.approx(RATE_HZ, rel=0.2)
    assert any("matched no GT frame" in m for m in suite.messages)
    assert any("thermal" in m for m in res.messages)  # missing modalities are reported
    assert "rgb_only" not in res.methods  # no replay with --pred
    agg = aggregate([res, res], EvalConfig())
    assert agg["combined"]["suite"]["scores"]["all"]["IDSW"] == 2 * s["all"]["IDSW"]


def test_missing_gt_gives_message_not_traceback(tmp_path, bags):
    _, _, out, _ = bags
    inp = write_input(tmp_path / "nogt", with_gt=False)
    res = evaluate_bag(inp, tmp_path / "eval", EvalConfig(), pred=out, log=lambda s: None)
    assert any("no 2D ground truth" in m for m in res.messages)
    assert res.methods["suite"].scores is None
    assert res.methods["suite"].latency["n"] == N_FRAMES + 1


def test_cli_writes_metrics_report_and_scorecard(tmp_path, bags, capsys):
    _, inp, out, _ = bags
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{SCORECARD_BEGIN}\nold\n{SCORECARD_END}\ntail\n")
    rc = cli.main([str(inp), "--pred", str(out), "--out", str(tmp_path / "ev"), "--no-progress",
                   "--update-docs", str(readme)])
    assert rc == 0
    doc = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert doc["bags"][0]["methods"]["suite"]["scores"]["all"]["HOTA"] > 0.8
    assert doc["combined"]["suite"]["scores"]["person"]["IDSW"] == 1
    report = (tmp_path / "ev" / "report.md").read_text()
    assert "HOTA" in report and "plots/hota_by_condition.png" in report
    assert (tmp_path / "ev" / "plots" / "latency_hist.png").is_file()
    assert (tmp_path / "ev" / "plots" / "id_timeline_input.png").is_file()
    text = readme.read_text()
    assert "old" not in text and "| suite |" in text and text.endswith("tail\n")


def test_cli_missing_bag_and_missing_node_suite_give_clear_messages(tmp_path, bags, capsys):
    _, inp, _, _ = bags
    assert cli.main([str(tmp_path / "missing_bag"), "--out", str(tmp_path / "o")]) == 2
    assert "bag not found" in capsys.readouterr().err
    # no --pred and no node suite (no replayer given): each replayed method is skipped with a message, the run
    # still completes
    rc = cli.main([str(inp), "--out", str(tmp_path / "o2"), "--no-progress", "--methods", "suite,rgb_only"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "suite: skipped" in err and "--pred" in err


def test_replay_path_with_a_stand_in_node_suite(tmp_path, bags):
    """The replay contract (replay_bag writes an output bag, returns stats with per-frame latencies)."""
    _, inp, _, _ = bags
    calls = []

    def fake_replay(bag, out_bag, config_path=None, model_path=None, realtime=False, rgb_only=False):
        calls.append((rgb_only, realtime))
        write_output(out_bag, seed=1 if rgb_only else 0)
        return {"latencies_s": [0.05] * N_FRAMES}

    res = evaluate.evaluate_bag(inp, tmp_path / "ev", EvalConfig(), realtime=True, log=lambda s: None,
                                replayer=fake_replay)
    assert calls == [(False, True), (True, True)]
    boxmot = {"bytetrack", "ocsort"} if boxmot_available()[0] else set()
    assert set(res.methods) == {"suite", "rgb_only"} | boxmot
    assert res.methods["rgb_only"].latency["p99_ms"] == pytest.approx(50.0)
    assert (tmp_path / "ev" / "outputs" / "input" / "suite" / "metadata.yaml").is_file()
    if not boxmot_available()[0]:
        assert any("bytetrack: skipped" in m and "boxmot" in m for m in res.messages)


def test_align_exact_then_nearest():
    ref = np.array([0, 33_333_333, 66_666_667], dtype=np.int64)
    assert align([33_333_333, 34_000_000, 50_000_001, 200_000_000], ref, 0.5 / RATE_HZ) == [2, 2, 3, None]


def test_output_topics_default():
    assert OutputTopics().tracks_2d == "/tracker/tracks_2d"
