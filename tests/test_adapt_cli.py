"""tracker-adapt end to end on tiny bags and the tiny model: rounds write labels, students, metrics, the report,
the model card and an ONNX model; the labelling never reads an unlabelled bag's ground truth; --resume keeps
finished rounds; user errors are one line."""
import json

import numpy as np
import pytest
import yaml

from network_helpers import tiny_net
from train_helpers import no_gt_bag, sim_bag, tiny_config_file, vtmot_bag
from tracker.adapt.cli import main

pytest.importorskip("rosbags")


def _init(tmp_path):
    from tracker.network.checkpoint import save_weights
    net = tiny_net(2)
    p = tmp_path / "init.pt"
    save_weights(p, net.cfg, net, 0)
    return p


def _adapt_yaml(tmp_path, **rounds):
    # low thresholds: the untrained tiny model's peaks (~0.1) become teacher boxes, so labels are made; its
    # peaks hop from frame to frame, so the hop rule is off here (tests/test_adapt_offline.py tests it)
    cfg = {"adapt": {"teacher": {"raw_threshold": 0.05, "top_k": 8, "score_threshold": 0.05},
                     "offline": {"min_track_frames": 2, "max_gap_frames": 1, "jumpy_max_confidence": 0.0,
                                 "tracker": {"classes": {
                         c: {"high_score": 0.05, "low_score": 0.01, "new_track_score": 0.05}
                         for c in ("person", "vehicle")}}},
                     "labels": {"weight_zero_confidence": 0.0, "weight_full_confidence": 0.1},
                     "rounds": {"rounds": 2, "steps_per_round": 2, "patience": 2, "labelled_share": 0.5, **rounds}}}
    p = tmp_path / "adapt.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def _cli(tmp_path, *args):
    return main([*map(str, args), "--config", str(_adapt_yaml(tmp_path)), "--network-config",
                 str(tiny_config_file(tmp_path, checkpoint_every=0))])


def test_two_rounds_write_labels_students_report_card_and_onnx(tmp_path):
    run = tmp_path / "run"
    assert _cli(tmp_path, sim_bag(), no_gt_bag(), "--init", _init(tmp_path), "--labelled", vtmot_bag(),
                "--val", sim_bag(), "--out", run) == 0
    rep = json.loads((run / "report.json").read_text())
    assert [r["round"] for r in rep["summary"]] == [0, 1, 2]
    for k in (1, 2):
        rec = json.loads((run / f"round_{k}" / "metrics.json").read_text())
        assert (run / f"round_{k}" / "student" / "last.pt").is_file() and rec["steps"] == 2
        for bag in (sim_bag(), no_gt_bag()):
            rows = np.load(run / f"round_{k}" / "labels" / f"{bag.name}.npy")
            assert rows.ndim == 2 and rows.shape[1] == 11
            assert set(rec["labels"][str(bag)]) >= {"teacher_boxes", "targets", "ignore_regions", "cross_modal"}
            assert rec["labels"][str(bag)]["targets"] == int((rows[:, 10] == 0).sum())
        assert rec["labels"][str(sim_bag())]["teacher_boxes"] > 0 and rec["labels"][str(sim_bag())]["targets"] > 0
        assert set(rec["label_quality"]) == {str(sim_bag())}  # only the bag with (hidden) ground truth
        assert set(rec["label_quality"][str(sim_bag())]) == {"labels", "teacher"}
        assert rec["labelled_share"] == 0.5 and rec["val_person_ap"] is not None or rec["val_ap"]
        assert set(rec["tracking"]["person"]) >= {"HOTA", "IDF1"}
    assert rep["summary"][0]["val_person_ap"] is not None or rep["rounds"][0]["val_ap"]
    from tracker.network.export import PARITY_ATOL
    # (an untrained model may have near-tie peaks that flip between runtimes: parity_ok reports them)
    assert (run / "model.onnx").is_file() and rep["model"]["parity_max"] <= PARITY_ATOL
    meta = json.loads((run / "model.json").read_text())
    assert meta["training"]["adapt_round"] == rep["best_round"]
    card = (run / "MODEL_CARD.md").read_text()
    assert "label_precision" in card and str(no_gt_bag()) in card and "| 2 |" in card

    # --resume: finished rounds are read back, an unfinished one is run again
    (run / "round_2" / "metrics.json").unlink()
    labels1 = (run / "round_1" / "labels" / f"{sim_bag().name}.npy").stat().st_mtime_ns
    assert main(["--resume", str(run)]) == 0
    assert (run / "round_1" / "labels" / f"{sim_bag().name}.npy").stat().st_mtime_ns == labels1
    assert (run / "round_2" / "metrics.json").is_file()


def test_labelling_never_reads_the_ground_truth_of_unlabelled_bags(tmp_path, monkeypatch):
    from pathlib import Path

    from tracker.adapt.cli import build_plan, parser
    from tracker.adapt.rounds import make_labels
    from tracker.data.reader import BagReader
    from tracker.data.bag import Bag
    roles, topics = [], []
    convert, raw = BagReader._convert, Bag.raw

    def spy(self, role, msg):
        roles.append(role)
        return convert(self, role, msg)
    monkeypatch.setattr(BagReader, "_convert", spy)

    def raw_spy(self, t=None):
        topics.extend(list(t) if t is not None else ["<all>"])
        return raw(self, t)
    monkeypatch.setattr(Bag, "raw", raw_spy)
    net_cfg = tiny_config_file(tmp_path)
    doc = yaml.safe_load(net_cfg.read_text())
    doc["cache"]["dir"] = str(tmp_path / "fresh_cache")  # nothing cached yet: the bag is read
    net_cfg.write_text(yaml.safe_dump(doc))
    a = parser().parse_args([str(sim_bag()), "--init", str(_init(tmp_path)), "--out", str(tmp_path / "r"),
                             "--config", str(_adapt_yaml(tmp_path)), "--network-config", str(net_cfg)])
    plan = build_plan(a, "")
    sources, stats, _ = make_labels(plan.init, plan, tmp_path / "r" / "round_1")
    assert "color" in roles and not {"gt2d", "gt3d"} & set(roles)
    assert not {"/ground_truth/tracks", "/ground_truth/tracks_2d", "<all>"} & set(topics)
    assert Path(sources[0].labels).is_file() and not sources[0].ground_truth


def test_user_errors_are_one_line(tmp_path, capsys):
    init = _init(tmp_path)
    cases = [((no_gt_bag(), "--out", tmp_path / "a"), "--init MODEL.pt and --out RUN are required"),
             ((no_gt_bag(), "--init", tmp_path / "m.onnx", "--out", tmp_path / "a"), "ONNX"),
             ((no_gt_bag(), "--init", init, "--labelled", no_gt_bag(), "--out", tmp_path / "a"), "/ground_truth"),
             ((tmp_path / "nothing", "--init", init, "--out", tmp_path / "a"), "no such file")]
    for args, text in cases:
        assert _cli(tmp_path, *args) == 2, args
        _one_line(capsys.readouterr().err, text)
    assert main(["--resume", str(tmp_path / "nowhere")]) == 2
    _one_line(capsys.readouterr().err, "no adapt.json")
    assert _cli(tmp_path, "--resume", tmp_path / "nowhere") == 2
    _one_line(capsys.readouterr().err, "drop config, network_config")


def _one_line(err, text):
    assert err.startswith("tracker-adapt: ") and text in err and len(err.strip().splitlines()) == 1, err
