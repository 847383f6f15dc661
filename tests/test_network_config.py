"""config/network.yaml: every section parses into its dataclass (unknown keys rejected, units/ranges checked)."""
from pathlib import Path

import pytest

from tracker.backends import BackendConfig
from tracker.common.config import ConfigError, from_mapping, load_yaml
from tracker.network.detector import DetectorConfig
from tracker.network.losses import LossWeights
from tracker.network.model import load_model_config
from tracker.network.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / "config" / "network.yaml"


def test_all_sections_parse():
    data = load_yaml(CFG)
    for name in data["models"]:
        load_model_config(name, str(CFG))
    assert data["model"] in data["models"]
    from_mapping(TrainConfig, data["training"], where="training")
    from_mapping(LossWeights, data["loss_weights"], where="loss_weights")
    from_mapping(BackendConfig, data["inference"]["backend"], where="inference.backend")
    from_mapping(DetectorConfig, data["inference"]["detector"], where="inference.detector")
    for split in ("train", "val"):
        assert all({"presets", "seed", "duration_s"} == set(e) for e in data["data"][split])
    assert not {e["seed"] for e in data["data"]["train"]} & {e["seed"] for e in data["data"]["val"]}


def test_bad_values_are_named():
    with pytest.raises(ConfigError, match=r"inference.detector.score_threshold = 1.5 is out of range"):
        from_mapping(DetectorConfig, {"score_threshold": 1.5}, where="inference.detector")
    with pytest.raises(ConfigError, match="precision"):
        from_mapping(BackendConfig, {"precision": "int4"}, where="inference.backend")
