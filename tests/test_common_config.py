"""Config validation: clear errors naming the key and its unit."""
from dataclasses import dataclass

import pytest

from tracker.common.config import ConfigError, describe_fields, from_mapping, load_yaml, param, section


@dataclass(frozen=True)
class Inner:
    slop_s: float = param(unit="s", gt=0.0, doc="max stamp difference")


@dataclass(frozen=True)
class Outer:
    inner: Inner
    iou_min: float = param(0.3, unit="1", ge=0.0, le=1.0, doc="minimum IoU")
    hits: int = param(3, unit="frames", ge=1)
    mode: str = param("fused", choices=("fused", "rgb"))
    sizes: tuple[float, ...] = param((1.0, 2.0), unit="m")


def test_builds_and_converts():
    c = from_mapping(Outer, {"inner": {"slop_s": 1}, "iou_min": 0.5, "sizes": [3, 4]}, "x")
    assert c.inner.slop_s == 1.0 and isinstance(c.inner.slop_s, float)
    assert c.iou_min == 0.5 and c.hits == 3 and c.sizes == (3.0, 4.0)


@pytest.mark.parametrize("data, message", [
    ({"inner": {"slop_s": 0.1}, "iou_mni": 0.2}, "x.iou_mni: unknown key.*valid keys: hits, inner, iou_min"),
    ({}, "x.inner: required key is missing"),
    ({"inner": {}}, r"x.inner.slop_s: required key is missing \(slop_s \[s\]"),
    ({"inner": {"slop_s": -1}}, r"x.inner.slop_s = -1.0 s is out of range: must be > 0.0 s"),
    ({"inner": {"slop_s": 0.1}, "iou_min": 1.5}, r"x.iou_min = 1.5 1 is out of range: must be <= 1.0"),
    ({"inner": {"slop_s": 0.1}, "hits": 2.5}, "x.hits: expected an integer"),
    ({"inner": {"slop_s": 0.1}, "hits": True}, "x.hits: expected an integer"),
    ({"inner": {"slop_s": "fast"}}, "x.inner.slop_s: expected a number"),
    ({"inner": {"slop_s": 0.1}, "mode": "thermal"}, r"x.mode = 'thermal' is not one of \['fused', 'rgb'\]"),
    ({"inner": {"slop_s": float("nan")}}, "NaN is not a valid value"),
])
def test_rejects_with_clear_message(data, message):
    with pytest.raises(ConfigError, match=message):
        from_mapping(Outer, data, "x")


def test_yaml_loading_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_yaml(tmp_path / "nope.yaml")
    p = tmp_path / "bad.yaml"
    p.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(p)
    p.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_yaml(p)
    with pytest.raises(ConfigError, match="missing section 'tracker'"):
        section({"sync": {}}, "tracker", "node.yaml")


def test_describe_fields_lists_units_and_ranges():
    lines = describe_fields(Outer)
    assert "iou_min [1] - minimum IoU (ge 0.0, le 1.0)" in lines


@dataclass(frozen=True)
class WithFixedTuple:
    xyz: tuple[float, float, int] = param((0.0, 0.0, 1), unit="m")


def test_fixed_length_tuples():
    assert from_mapping(WithFixedTuple, {"xyz": [1, 2.5, 3]}).xyz == (1.0, 2.5, 3)
    with pytest.raises(ConfigError, match="expected 3 values, got 2"):
        from_mapping(WithFixedTuple, {"xyz": [1, 2]})
    with pytest.raises(ConfigError, match=r"xyz\[2\]: expected an integer"):
        from_mapping(WithFixedTuple, {"xyz": [1, 2, 3.5]})
