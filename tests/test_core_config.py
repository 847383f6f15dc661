"""Config: unknown keys and out-of-range values rejected clearly; the code defaults are the one home of every
default and config/tracker_node.yaml states only what the node sets differently."""
import copy
import dataclasses
from pathlib import Path

import pytest
import yaml

from tracker.common.config import ConfigError, load_yaml
from tracker.core import ClassParams, TrackerConfig, load_tracker_config
from tracker.nodes.config import QosSection, load_node_config
from tracker.pipeline.health import DiagnosticsConfig
from tracker.pipeline.sync import SyncConfig
from tracker.tools import config as config_tool
from tracker.tools.config import effective_sections, flat_values, yaml_leaves

YAML = Path(__file__).resolve().parents[1] / "config" / "tracker_node.yaml"


SHOWN_FOR_USERS = ("topics",)  # sections the YAML states in full although they equal the code defaults

#: what config/tracker_node.yaml sets differently from the code defaults (the reasons are its comments)
NODE_SETTINGS = {
    "tracker.classes.person.high_score": 0.3, "tracker.classes.person.new_track_score": 0.35,
    "tracker.classes.vehicle.high_score": 0.35, "tracker.classes.vehicle.new_track_score": 0.45,
    "tracker.gate_position_chi2": 1000.0,
    "backend.model": "models/embedded.onnx",
    "backend.options.threads": 2,
    "backend.detector.score_threshold": 0.1,
}


def _without(data: dict, path: str) -> dict:
    data = copy.deepcopy(data)
    *parents, last = path.split(".")
    node = data
    for k in parents:
        node = node[k]
    del node[last]
    return data


def test_yaml_repeats_no_code_default():
    """The param() defaults are the one home of every default: a YAML value whose removal leaves the node's
    effective configuration unchanged repeats a code default (and would silently drift from it)."""
    data = yaml.safe_load(YAML.read_text())
    full = effective_sections(data)
    repeated = [p for p in yaml_leaves(data)
                if p.split(".")[0] not in SHOWN_FOR_USERS and effective_sections(_without(data, p)) == full]
    assert not repeated, (f"{YAML.name} repeats the code defaults of: {', '.join(repeated)} "
                          "(remove them: the param() default is their home)")


def test_node_runs_with_the_yaml_settings_and_the_code_defaults_elsewhere():
    """The effective configuration from the YAML: NODE_SETTINGS where it sets something, the code default for
    every other key (a missing key takes the default, also inside a partly given section)."""
    effective = flat_values(effective_sections(yaml.safe_load(YAML.read_text())))
    defaults = flat_values(effective_sections({"tracker": {}}))
    assert set(effective) == set(defaults)
    assert {p: v for p, v in effective.items() if v != defaults[p]} == NODE_SETTINGS
    # partly given classes keep their class's own defaults (vehicle motion is not the person's)
    assert effective["tracker.classes.vehicle.accel_std_m_s2"] == 4.0
    assert effective["tracker.classes.vehicle.max_speed_m_s"] == 30.0
    assert effective["tracker.classes.person.low_score"] == 0.1
    assert load_tracker_config(YAML) == TrackerConfig.from_mapping(yaml.safe_load(YAML.read_text())["tracker"])


def test_a_partly_given_class_keeps_that_class_defaults():
    cfg = TrackerConfig.from_mapping({"classes": {"person": {}, "vehicle": {"high_score": 0.4}}})
    assert cfg.classes["vehicle"] == dataclasses.replace(TrackerConfig().classes["vehicle"], high_score=0.4)
    assert cfg.classes["person"] == ClassParams()


@pytest.mark.parametrize("text, message", [
    ("tracker: {}\nsync: {slop: 0.1}\n", r"sync.slop: unknown key in sync; valid keys: .*queue_size, .*slop_s"),
    ("tracker: {min_hitz: 3}\n", r"tracker.min_hitz: unknown key in tracker; valid keys: .*min_hits"),
    ("tracker: {}\nqos: {outputs: {dept: 3}}\n", r"qos.outputs.dept: unknown key.*valid keys: depth, durability"),
    ("tracker: {}\nsnyc: {}\n", r"unknown section 'snyc'; valid sections: node, topics, sync"),
])
def test_node_yaml_rejects_unknown_keys_with_the_valid_list(tmp_path, text, message):
    p = tmp_path / "node.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message):
        effective_sections(load_yaml(p), str(p))


def test_missing_keys_take_the_code_defaults(tmp_path):
    p = tmp_path / "node.yaml"
    p.write_text("tracker: {}\nqos: {outputs: {reliability: best_effort}}\n")
    cfg = load_node_config(p)
    assert cfg.sync == SyncConfig() and cfg.diagnostics == DiagnosticsConfig()
    assert cfg.qos.outputs.depth == QosSection().outputs.depth == 10  # not the profile class's 5
    assert cfg.qos.outputs.reliability == "best_effort"


def test_tracker_config_prints_every_effective_setting(capsys):
    assert config_tool.main([str(YAML)]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = {ln[2:].split(" = ")[0]: ln for ln in out[1:]}
    assert set(rows) == set(flat_values(effective_sections(yaml.safe_load(YAML.read_text()))))
    assert rows["tracker.gate_position_chi2"].startswith("* tracker.gate_position_chi2 = 1000.0 [1] (gt 0.0)")
    assert rows["sync.slop_s"].startswith("  sync.slop_s = 0.02 [s] (ge 0.0, le 1.0) - ")


def test_tracker_config_reports_a_bad_file(tmp_path, capsys):
    p = tmp_path / "node.yaml"
    p.write_text("tracker: {}\nsync: {slop_s: -1}\n")
    assert config_tool.main([str(p)]) == 2
    assert "sync.slop_s = -1.0 s is out of range" in capsys.readouterr().err


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


def test_every_field_documents_unit_or_is_unitless_text():
    for cls in (TrackerConfig, ClassParams):
        for f in dataclasses.fields(cls):
            assert f.metadata.get("doc"), f"{cls.__name__}.{f.name} has no doc"
            if f.type in ("float", "int"):
                assert f.metadata.get("unit"), f"{cls.__name__}.{f.name} has no unit"
