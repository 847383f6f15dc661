"""Config validation: clear errors naming the key and its unit."""
from dataclasses import dataclass

import pytest

from tracker.common.config import (ConfigError, describe_fields, describe_values, from_mapping, load_yaml, param,
                                   section)


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


@dataclass(frozen=True)
class Profile:
    depth: int = param(5, unit="messages", ge=1, doc="history depth")
    mode: str = param("a", choices=("a", "b"), doc="mode")


@dataclass(frozen=True)
class Holder:
    out: Profile = param(default_factory=lambda: Profile(depth=10), doc="a nested section whose default differs")
    per: dict[str, Profile] = param(default_factory=lambda: {"x": Profile(depth=7), "y": Profile()},
                                    doc="named nested sections")


def test_missing_keys_of_a_nested_section_take_the_fields_default():
    """A partly given nested section starts from the field's default instance, not from the nested class's
    defaults (``qos.outputs: {mode: b}`` keeps the outputs' depth 10); dict entries start from the default
    entry of the same name, new names from the class defaults."""
    h = from_mapping(Holder, {"out": {"mode": "b"}, "per": {"x": {"mode": "b"}, "z": {}}}, "h")
    assert h.out == Profile(depth=10, mode="b")
    assert h.per == {"x": Profile(depth=7, mode="b"), "z": Profile()}
    assert from_mapping(Holder, {}) == Holder()


def test_unknown_key_in_a_nested_section_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"h.out.dept: unknown key in h.out; valid keys: depth, mode"):
        from_mapping(Holder, {"out": {"dept": 3}}, "h")


def test_describe_values_lists_every_effective_setting_with_units_and_ranges():
    h = from_mapping(Holder, {"out": {"mode": "b"}})
    lines = describe_values(h, "h.", marked={"h.out.mode"})
    assert lines[:2] == ["  h.out.depth = 10 [messages] (ge 1) - history depth",
                         "* h.out.mode = 'b' (one of a, b) - mode"]
    assert [ln.split(" = ")[0].strip() for ln in lines[2:]] == ["h.per.x.depth", "h.per.x.mode", "h.per.y.depth",
                                                                "h.per.y.mode"]
