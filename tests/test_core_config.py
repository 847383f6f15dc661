"""Config: unknown keys and out-of-range values rejected clearly; YAML <-> dataclass contract."""
import dataclasses
from pathlib import Path

import pytest
import yaml

from tracker.common.config import ConfigError
from tracker.core import ClassParams, TrackerConfig, load_tracker_config

YAML = Path(__file__).resolve().parents[1] / "config" / "tracker_node.yaml"


MODEL_SPECIFIC = ("high_score", "new_track_score")  # per class: set in the YAML for the default model's scores
MODEL_SPECIFIC_TOP = ("gate_position_chi2",)  # set in the YAML for the default model's 3D noise


def test_defaults_and_yaml_agree():
    """The YAML holds the code's defaults, except the per-class score thresholds and the 3D gate, which belong to
    the default model (docs/tracker-core.md, "Thresholds of the node")."""
    y, d = load_tracker_config(YAML), TrackerConfig()
    assert any(getattr(y.classes[n], k) != getattr(d.classes[n], k) for n in d.classes for k in MODEL_SPECIFIC)
    classes = {n: dataclasses.replace(p, **{k: getattr(d.classes[n], k) for k in MODEL_SPECIFIC})
               for n, p in y.classes.items()}
    assert dataclasses.replace(y, classes=classes, **{k: getattr(d, k) for k in MODEL_SPECIFIC_TOP}) == d


@pytest.mark.parametrize("data, message", [
    ({"min_hitz": 3}, r"tracker.min_hitz: unknown key in tracker; valid keys: .*min_hits"),
    ({"max_cost_high": 1.5}, r"tracker.max_cost_high = 1.5 1 is out of range: must be <= 1.0"),
    ({"min_hits": 0}, r"tracker.min_hits = 0 frames is out of range: must be >= 1"),
    ({"classes": {"person": {"max_unseen_s": -1}, "vehicle": {}}},
     r"tracker.classes.person.max_unseen_s = -1.0 s is out of range: must be > 0.0 s"),
    ({"classes": {"person": {"speed": 1}, "vehicle": {}}}, r"tracker.classes.person.speed: unknown key"),
    ({"classes": {"person": {"low_score": 0.9}, "vehicle": {}}}, r"low_score \(0.9\) must be <= high_score"),
    ({"classes": {"person": {}}}, r"tracker.classes must have one entry per class name.*missing: \['vehicle'\]"),
    ({"motion_model": "ctrv"}, r"tracker.motion_model: unknown motion model 'ctrv'; valid: cv_box, cv_box_3d"),
    ({"cost_high": "giou"}, r"tracker.cost_high: unknown cost function 'giou'; valid: embedding, fused"),
    ({"reid_window_s": "long"}, r"tracker.reid_window_s: expected a number"),
])
def test_rejects_bad_config_with_clear_message(data, message):
    with pytest.raises(ConfigError, match=message):
        TrackerConfig.from_mapping(data)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrackerConfig().min_hits = 5


def _keys(cls):
    return {f.name for f in dataclasses.fields(cls)}


def test_yaml_keys_are_config_fields_and_vice_versa():
    data = yaml.safe_load(YAML.read_text())
    assert set(data) >= {"tracker"}
    section = data["tracker"]
    assert set(section) == _keys(TrackerConfig)
    assert set(section["classes"]) == set(section["class_names"])
    for name, params in section["classes"].items():
        assert set(params) == _keys(ClassParams), name


def test_every_field_documents_unit_or_is_unitless_text():
    for cls in (TrackerConfig, ClassParams):
        for f in dataclasses.fields(cls):
            assert f.metadata.get("doc"), f"{cls.__name__}.{f.name} has no doc"
            if f.type in ("float", "int"):
                assert f.metadata.get("unit"), f"{cls.__name__}.{f.name} has no unit"
