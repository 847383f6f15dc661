"""tracker-train on bags from anywhere: folders and globs, condition labels from the sidecar or --condition,
clear one-line errors for unusable bags and unsupported --init files, fine-tuning from a checkpoint."""
import json

import pytest

from train_helpers import no_gt_bag, sim_bag, tiny_config_file, vtmot_bag, weights
from tracker.network.train import main

pytest.importorskip("rosbags")


def _cli(cfg, *args):
    return main(["--config", str(cfg), "--no-progress", *map(str, args)])


def test_trains_on_a_simulated_and_a_converted_bag_with_their_conditions(tmp_path):
    cfg = tiny_config_file(tmp_path, steps=2, checkpoint_every=0)
    sim = sim_bag()
    glob = str(sim.parent / "sim_night_*")  # a glob: the sidecar beside it is no bag and is not matched
    assert _cli(cfg, glob, vtmot_bag(), "--val", sim, vtmot_bag(), "--out", tmp_path / "run") == 0
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [b["condition"] for b in m["train_bags"]] == ["night", "external"]  # sidecar / no sidecar
    assert set(m["val_ap"]) == {"night", "external", "all"}
    assert m["train_frames"] == m["val_frames"] > 4 and m["steps_done"] == 2
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    rec = json.loads(lines[0])
    assert {"step", "steps_per_s", "eta_s", "lr", "total", "heatmap"} <= set(rec)
    assert any("val_ap" in json.loads(ln) for ln in lines)
    assert "validation AP" in (tmp_path / "run" / "train.log").read_text()
    assert (tmp_path / "run" / "best.pt").is_file()


def test_condition_flag_labels_every_bag(tmp_path):
    cfg = tiny_config_file(tmp_path, steps=1, checkpoint_every=0)
    assert _cli(cfg, vtmot_bag(), "--val", vtmot_bag(), "--condition", "thermal_day", "--out", tmp_path / "r") == 0
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert set(m["val_ap"]) == {"thermal_day", "all"} and m["train_bags"][0]["condition"] == "thermal_day"


def test_bag_without_ground_truth_is_one_clear_error(tmp_path, capsys):
    cfg = tiny_config_file(tmp_path)
    bag = no_gt_bag()
    assert _cli(cfg, bag, "--out", tmp_path / "r") == 2
    err = capsys.readouterr().err
    assert err.startswith("tracker-train: bag ") and str(bag) in err and "/ground_truth/tracks_2d" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _cli(cfg, tmp_path / "nothing_here", "--out", tmp_path / "r") == 2
    assert "nothing_here: no such file or directory" in capsys.readouterr().err
    assert _cli(cfg, str(tmp_path / "none_*"), "--out", tmp_path / "r") == 2
    assert "matches no bag directory" in capsys.readouterr().err


def _distance(a, b):
    return sum(float((a[k].float() - b[k].float()).abs().sum()) for k in a if a[k].is_floating_point())


def test_init_from_a_checkpoint_and_onnx_is_refused(tmp_path, capsys):
    cfg = tiny_config_file(tmp_path, steps=1, checkpoint_every=0)
    assert _cli(cfg, vtmot_bag(), "--out", tmp_path / "a", "--seed", 3) == 0
    assert _cli(cfg, vtmot_bag(), "--init", tmp_path / "a" / "last.pt", "--out", tmp_path / "b") == 0
    assert _cli(cfg, vtmot_bag(), "--out", tmp_path / "c") == 0  # same seed as b, from scratch
    m = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert m["init"].endswith("last.pt") and m["model"]["input_width"] == 64
    a, b, c = (weights(tmp_path / x / "last.pt") for x in "abc")
    assert _distance(a, b) < 0.5 * _distance(a, c)  # b is one step away from a's weights, c is not
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"not read")
    assert _cli(cfg, vtmot_bag(), "--init", onnx, "--out", tmp_path / "d") == 2
    assert "initialising from ONNX weights is not supported" in capsys.readouterr().err
    assert _cli(cfg, vtmot_bag(), "--init", tmp_path / "missing.pt", "--out", tmp_path / "d") == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_augment_overrides_one_field_of_the_config_and_rejects_bad_ones(tmp_path, capsys):
    from tracker.network.train_cli import build_run, parser
    cfg = tiny_config_file(tmp_path, steps=2, checkpoint_every=0)
    argv = ["--config", str(cfg), str(sim_bag()), "--out", str(tmp_path / "run")]
    plain = build_run(parser().parse_args(argv), "")["augment"]
    run = build_run(parser().parse_args([*argv, "--augment", "p_zoom=0.5", "--augment", "zoom=[0.8, 1.2]"]), "")
    assert plain["p_zoom"] == 0.0 and run["augment"]["p_zoom"] == 0.5 and tuple(run["augment"]["zoom"]) == (0.8, 1.2)
    assert {k: v for k, v in run["augment"].items() if k not in ("p_zoom", "zoom")} == \
        {k: v for k, v in plain.items() if k not in ("p_zoom", "zoom")}
    for bad, said in (("p_zoom", "KEY=VALUE"), ("p_zoom=2", "p_zoom"), ("no_such=1", "no_such")):
        assert _cli(cfg, sim_bag(), "--augment", bad, "--out", tmp_path / bad) == 2
        assert said in capsys.readouterr().err
    assert not (tmp_path / "p_zoom=2").exists()


def test_node_config_sets_the_registration_of_the_run_and_resume_refuses_it(tmp_path, capsys):
    from dataclasses import asdict

    from tracker.network.sources import node_registration
    from tracker.network.train_cli import build_run, parser
    cfg = tiny_config_file(tmp_path, steps=2, checkpoint_every=0)
    node = tmp_path / "node.yaml"
    node.write_text("registration: {assumed_distance_m: 25.0}\n")
    argv = ["--config", str(cfg), str(sim_bag()), "--out", str(tmp_path / "run")]
    plain = build_run(parser().parse_args(argv), "")["data"]["registration"]
    far = build_run(parser().parse_args([*argv, "--node-config", str(node)]), "")["data"]["registration"]
    assert plain == asdict(node_registration()) and far["assumed_distance_m"] == 25.0
    assert {k: v for k, v in far.items() if k != "assumed_distance_m"} == \
        {k: v for k, v in plain.items() if k != "assumed_distance_m"}
    assert _cli(cfg, "--resume", tmp_path / "run", "--node-config", node) == 2
    assert "drop node_config" in capsys.readouterr().err


def test_the_exported_model_says_which_registration_it_was_trained_on(tmp_path):
    """train (--node-config: thermal plane 25 m) -> tracker-export -> the Detector's describe() carries it, and a
    node on the default plane is told what differs."""
    from tracker.network.export import main as export
    from tracker.network.factory import make_detector
    from tracker.pipeline.registration import RegistrationConfig, registration_mismatch
    cfg = tiny_config_file(tmp_path, steps=1, checkpoint_every=0)
    node = tmp_path / "node.yaml"
    node.write_text("registration: {assumed_distance_m: 25.0}\n")
    assert _cli(cfg, sim_bag(), "--node-config", node, "--out", tmp_path / "run") == 0
    assert export(["--checkpoint", str(tmp_path / "run" / "last.pt"), "--out", str(tmp_path / "m.onnx"),
                   "--skip-parity"]) == 0
    info = make_detector({"order": ["onnxruntime"], "device": "cpu", "threads": 1}, {},
                         str(tmp_path / "m.onnx")).describe()
    assert info.trained_registration["assumed_distance_m"] == 25.0
    assert registration_mismatch(info.trained_registration, RegistrationConfig(assumed_distance_m=25.0)) == ""
    said = registration_mismatch(info.trained_registration, RegistrationConfig(assumed_distance_m=8.0))
    assert "assumed_distance_m 25.0 (trained) vs 8.0 (node)" in said and "hole_fill_px" not in said
    assert registration_mismatch(None, RegistrationConfig()) == ""  # metadata that does not say: nothing claimed
