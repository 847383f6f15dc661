"""config/network.yaml: every section parses into its dataclass (unknown keys rejected, units/ranges checked)."""
from pathlib import Path

import pytest

from tracker.backends import BackendConfig
from tracker.common.config import ConfigError, from_mapping, load_yaml
from tracker.network.detector import DetectorConfig
from tracker.network.losses import LossWeights
from tracker.network.model import load_model_config
from tracker.network.dataset import AugmentConfig
from tracker.network.preprocess import NormalisationConfig
from tracker.network.train import TrainConfig, load_augment_config

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / "config" / "network.yaml"


def test_all_sections_parse():
    data = load_yaml(CFG)
    for name in data["models"]:
        load_model_config(name, str(CFG))
    assert data["model"] in data["models"]
    from_mapping(TrainConfig, data["training"], where="training")
    from_mapping(LossWeights, data["loss_weights"], where="loss_weights")
    assert load_augment_config(data["augment"]) == AugmentConfig()  # the file states the defaults
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


def test_augment_section_takes_no_crop_or_modalities():
    with pytest.raises(ConfigError, match=r"augment.crop_w: set by training.crop_width"):
        load_augment_config({"crop_w": 100})
    with pytest.raises(ConfigError, match=r"augment.thermal_gain\[1\] = -1.0 .*is out of range"):
        load_augment_config({"thermal_gain": [0.5, -1.0]})


def test_normalisation_defaults_are_the_shipped_models():
    import json
    shipped = json.loads((ROOT / "models" / "embedded.json").read_text())["normalisation"]
    assert NormalisationConfig.from_meta(shipped) == NormalisationConfig(thermal_channels=2)  # + relative kelvin
    written = NormalisationConfig(thermal_channels=2).to_meta()
    for part in ("thermal", "depth"):  # what export writes now holds everything the shipped metadata says
        assert {k: v for k, v in written[part].items() if k in shipped[part]} == shipped[part]
    other = NormalisationConfig(thermal_percentiles=(1.0, 99.0), depth_max_m=40.0, thermal_sample_step=3)
    assert NormalisationConfig.from_meta(other.to_meta()) == other
    with pytest.raises(ConfigError, match="thermal_percentiles"):
        NormalisationConfig.from_meta({"thermal": {"percentiles": [98.0, 2.0]}})
