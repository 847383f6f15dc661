"""The weight average of training.ema_decay: its update rule, and a training run that keeps one validates and
saves the average, and resumes it bit for bit."""
import pytest
import torch

from network_helpers import tiny_config
from test_network_train_resume import _data
from train_helpers import TINY_TRAINING, weights
from tracker.network.checkpoint import STATE
from tracker.network.ema import WeightEMA
from tracker.network.train import TrainConfig, resume, train

pytest.importorskip("rosbags")


def _net(value: float) -> torch.nn.Module:
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(value)
    return net


def test_update_follows_the_warmed_up_decay_and_copies_integer_buffers():
    net = _net(1.0)
    ema = WeightEMA(net, 0.99)
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(3.0)
    net[1].num_batches_tracked.fill_(7)
    ema.update(net)                      # d = min(0.99, 1 / 10) = 0.1
    assert torch.allclose(ema.net[0].weight, torch.full((2, 2), 0.1 * 1.0 + 0.9 * 3.0))
    assert int(ema.net[1].num_batches_tracked) == 7
    ema.update(net)                      # d = 2 / 11
    assert torch.allclose(ema.net[0].weight, torch.full((2, 2), 2 / 11 * 2.8 + 9 / 11 * 3.0))
    assert ema.updates == 2 and not ema.net.training
    assert all(not p.requires_grad for p in ema.net.parameters())
    ema.updates = 10_000
    assert ema.current_decay() == 0.99
    with pytest.raises(ValueError):
        WeightEMA(net, 1.0)


def test_state_round_trip():
    ema = WeightEMA(_net(1.0), 0.9)
    ema.update(_net(2.0))
    other = WeightEMA(_net(5.0), 0.5)
    other.load_state_dict(ema.state_dict())
    assert other.decay == 0.9 and other.updates == 1
    assert torch.equal(other.net[0].weight, ema.net[0].weight)


def test_training_saves_the_average_and_resumes_it_bit_for_bit(tmp_path):
    cfg = TrainConfig(**{**TINY_TRAINING, "steps": 4, "checkpoint_every": 2, "eval_every": 2, "ema_decay": 0.9})
    data = _data(tmp_path)
    straight = train(tiny_config(), cfg, data, tmp_path / "a", seed=4, progress=False)
    train(tiny_config(), cfg, data, tmp_path / "b", seed=4, progress=False, stop_at=2)
    resumed = resume(tmp_path / "b", progress=False)
    a, b = weights(tmp_path / "a" / "last.pt"), weights(tmp_path / "b" / "last.pt")
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert straight["val_ap"] == resumed["val_ap"]
    state = torch.load(tmp_path / "a" / STATE, weights_only=False)
    assert state["ema"]["updates"] == 4
    raw = state["state_dict"]
    floats = [k for k, v in raw.items() if v.is_floating_point()]
    assert all(torch.equal(a[k], state["ema"]["state_dict"][k]) for k in a)  # last.pt is the average ...
    assert any(not torch.equal(a[k], raw[k]) for k in floats)                # ... not the raw weights
    plain = train(tiny_config(), TrainConfig(**{**TINY_TRAINING, "steps": 4, "checkpoint_every": 2,
                                                "eval_every": 2}), data, tmp_path / "c", seed=4, progress=False)
    c = torch.load(tmp_path / "c" / STATE, weights_only=False)
    assert c["ema"] is None and all(torch.equal(c["state_dict"][k], raw[k]) for k in raw)  # training unchanged
    assert [h["total"] for h in plain["history"]] == [h["total"] for h in straight["history"]]


def test_cli_sets_lr_and_ema_decay_and_resume_refuses_them(tmp_path, capsys):
    from train_helpers import sim_bag, tiny_config_file
    from tracker.network.train import main
    run = tmp_path / "run"
    assert main(["--config", str(tiny_config_file(tmp_path, steps=2, checkpoint_every=1)), str(sim_bag()),
                 "--lr", "0.0005", "--ema-decay", "0.5", "--out", str(run), "--stop-at", "1", "--no-progress"]) == 0
    state = torch.load(run / STATE, weights_only=False)
    assert state["run"]["train"]["lr"] == 0.0005 and state["run"]["train"]["ema_decay"] == 0.5
    assert state["ema"]["updates"] == 1
    assert main(["--resume", str(run), "--ema-decay", "0.9"]) == 2
    assert "drop ema_decay" in capsys.readouterr().err
