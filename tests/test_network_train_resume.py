"""Interrupted and resumed training equals straight training bit for bit; checkpoints are atomic, small and
loadable; the command line resumes a run from its directory alone."""
import json
import os

import pytest
import torch

from network_helpers import tiny_config
from train_helpers import TINY_TRAINING, sim_bag, tiny_config_file, weights
from tracker.network.checkpoint import STATE, load_checkpoint
from tracker.network.sources import BagSource, RunData, node_registration
from tracker.network.train import TrainConfig, main, resume, train

pytest.importorskip("rosbags")


def _data(tmp_path):
    bag = sim_bag()
    from dataclasses import asdict
    return RunData((BagSource(bag, "night"),), (BagSource(bag, "night"),), tmp_path / "cache",
                   registration=asdict(node_registration()))


def test_stop_and_resume_equals_straight_training(tmp_path):
    cfg = TrainConfig(**{**TINY_TRAINING, "steps": 4, "checkpoint_every": 2, "eval_every": 2})
    data = _data(tmp_path)
    straight = train(tiny_config(), cfg, data, tmp_path / "a", seed=4, progress=False)
    first = train(tiny_config(), cfg, data, tmp_path / "b", seed=4, progress=False, stop_at=2)
    assert first["steps_done"] == 2 and not (tmp_path / "b" / "metrics.json").exists()
    assert torch.load(tmp_path / "b" / STATE, weights_only=False)["step"] == 2
    resumed = resume(tmp_path / "b", progress=False)
    assert resumed["steps_done"] == 4
    a, b = weights(tmp_path / "a" / "last.pt"), weights(tmp_path / "b" / "last.pt")
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert [h["total"] for h in straight["history"]] == [h["total"] for h in resumed["history"]]
    assert straight["val_ap"] == resumed["val_ap"] and straight["best"]["step"] == resumed["best"]["step"]
    steps = [json.loads(ln)["step"] for ln in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
             if "total" in json.loads(ln)]
    assert steps == [0, 1, 2, 3]  # the resumed run appends once per step
    assert not [f for f in os.listdir(tmp_path / "b") if ".tmp" in f]  # atomic writes leave no temporaries


def test_fp16_weights_are_half_the_size_and_load_as_float32(tmp_path):
    cfg = TrainConfig(**{**TINY_TRAINING, "steps": 1, "checkpoint_every": 0})
    data = _data(tmp_path)
    train(tiny_config(), cfg, data, tmp_path / "f32", seed=1, progress=False)
    train(tiny_config(), TrainConfig(**{**TINY_TRAINING, "steps": 1, "checkpoint_every": 0,
                                        "weights_dtype": "float16"}), data, tmp_path / "f16", seed=1, progress=False)
    big, small = (tmp_path / "f32" / "last.pt").stat().st_size, (tmp_path / "f16" / "last.pt").stat().st_size
    assert small < 0.7 * big
    sd = weights(tmp_path / "f16" / "last.pt")
    assert {v.dtype for v in sd.values() if v.is_floating_point()} == {torch.float16}
    net, res = load_checkpoint(tmp_path / "f16" / "last.pt")
    ref, _ = load_checkpoint(tmp_path / "f32" / "last.pt")
    for k, v in net.state_dict().items():
        if v.is_floating_point():
            assert v.dtype == torch.float32
            assert torch.allclose(v, ref.state_dict()[k], rtol=1e-3, atol=1e-4), k
    assert res["train"]["weights_dtype"] == "float16"


def test_cli_resume_takes_only_the_run_directory(tmp_path, capsys):
    cfg = tiny_config_file(tmp_path, steps=2, checkpoint_every=1)
    run = tmp_path / "run"
    assert main(["--config", str(cfg), str(sim_bag()), "--out", str(run), "--stop-at", "1", "--no-progress"]) == 0
    assert not (run / "metrics.json").exists()
    assert main(["--resume", str(run), "--steps", "5"]) == 2
    assert "drop steps" in capsys.readouterr().err
    assert main(["--resume", str(run), "--no-progress", "--workers", "0"]) == 0
    assert json.loads((run / "metrics.json").read_text())["steps_done"] == 2
    assert main(["--resume", str(tmp_path / "nowhere")]) == 2
    assert "no state.pt" in capsys.readouterr().err
