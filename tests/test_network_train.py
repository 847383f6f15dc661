"""Training loop end to end on a tiny bag and a tiny model: outputs, per-condition validation, reproducibility."""
import json

import pytest
import torch

from network_helpers import tiny_config
from tracker.network.train import TrainConfig, load_checkpoint, main, train


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    pytest.importorskip("rosbags")
    root = tmp_path_factory.mktemp("netdata")
    spec = [{"presets": "day", "seed": 5, "duration_s": 0.3}]
    return {"root": str(root), "train": spec, "val": spec, "train_stride": 1, "val_stride": 2}


def test_train_is_reproducible_and_writes_outputs(data, tmp_path):
    cfg = TrainConfig(steps=3, clips_per_batch=1, frames_per_clip=2, window=4, crop_width=64, crop_height=64,
                      warmup_steps=1)
    r1 = train(tiny_config(), cfg, data, tmp_path / "a", seed=1, progress=False)
    r2 = train(tiny_config(), cfg, data, tmp_path / "b", seed=1, progress=False)
    h1 = [(h["step"], h["total"]) for h in r1["history"]]
    assert h1 == [(h["step"], h["total"]) for h in r2["history"]]
    assert set(r1["val_ap"]) == {"day", "all"} and "person" in r1["val_ap"]["day"]
    m = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert m["seed"] == 1 and m["train_frames"] > 0
    net, res = load_checkpoint(tmp_path / "a" / "last.pt")
    assert net.cfg == tiny_config() and res["val_ap"] == r1["val_ap"]
    a = net.state_dict()
    b = load_checkpoint(tmp_path / "b" / "last.pt")[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_cli_rejects_bad_arguments(capsys, tmp_path):
    assert main(["--modalities", "lidar", "--out", str(tmp_path)]) == 2
    assert "lidar" in capsys.readouterr().err
    assert main(["--model", "huge", "--out", str(tmp_path)]) == 2


def test_logging_interval_and_augmentation_come_from_config(data, tmp_path):
    from dataclasses import replace

    from tracker.network.dataset import AugmentConfig
    cfg = TrainConfig(steps=3, clips_per_batch=1, frames_per_clip=2, window=4, crop_width=64, crop_height=64,
                      warmup_steps=1, log_every=1, grad_clip_norm=1.0, checkpoint_every=0)
    r = train(tiny_config(), cfg, data, tmp_path / "c", seed=2, progress=False,
              augment=replace(AugmentConfig(), p_flip=0.0, gamma=(1.0, 1.0)))
    assert [h["step"] for h in r["history"]] == [0, 1, 2]
    aug = r["augment"]
    assert aug["p_flip"] == 0.0 and tuple(aug["gamma"]) == (1.0, 1.0)
    assert (aug["crop_w"], aug["crop_h"]) == (64, 64) and r["train"]["grad_clip_norm"] == 1.0
