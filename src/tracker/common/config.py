"""Configuration as data: YAML sections copied into frozen dataclasses with units and ranges.

Every threshold is a dataclass field declared with :func:`param`, which records its unit, its valid range
and a one-line description. :func:`from_mapping` builds the dataclass from a YAML mapping, rejects unknown
keys (with the list of valid ones), requires every field that has no default, converts numbers, and checks
ranges, raising :class:`ConfigError` with the full dotted path of the offending key.

    @dataclass(frozen=True)
    class MatchConfig:
        iou_min: float = param(unit="1", ge=0.0, le=1.0, doc="minimum IoU for a match")

    cfg = from_mapping(MatchConfig, {"iou_min": 0.3}, where="tracker.match")
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any, Mapping

import yaml

_MISSING = dataclasses.MISSING


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


def param(default: Any = _MISSING, *, unit: str = "", doc: str = "", ge: float | None = None,
          gt: float | None = None, le: float | None = None, lt: float | None = None,
          choices: tuple | None = None, default_factory: Any = _MISSING) -> Any:
    """Declare a config field with its unit, range and description (kept in the field's metadata)."""
    meta = {"unit": unit, "doc": doc, "ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _describe(f: dataclasses.Field) -> str:
    m = f.metadata
    parts = [f.name]
    if m.get("unit"):
        parts.append(f"[{m['unit']}]")
    if m.get("doc"):
        parts.append(f"- {m['doc']}")
    return " ".join(parts)


def _check_range(value: float, f: dataclasses.Field, path: str) -> None:
    m = f.metadata
    unit = f" {m['unit']}" if m.get("unit") else ""
    if isinstance(value, float) and math.isnan(value):
        raise ConfigError(f"{path}: NaN is not a valid value ({_describe(f)})")
    for key, ok, word in (("ge", lambda v, b: v >= b, ">="), ("gt", lambda v, b: v > b, ">"),
                          ("le", lambda v, b: v <= b, "<="), ("lt", lambda v, b: v < b, "<")):
        bound = m.get(key)
        if bound is not None and not ok(value, bound):
            raise ConfigError(f"{path} = {value!r}{unit} is out of range: must be {word} {bound}{unit} "
                              f"({_describe(f)})")


def _convert(value: Any, tp: Any, f: dataclasses.Field | None, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(value, a, f, path)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{path}: invalid value {value!r}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a mapping for {tp.__name__}, got {type(value).__name__}")
        return from_mapping(tp, value, where=path)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {type(value).__name__} {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{path}: expected {len(args)} values, got {len(value)}")
            return tuple(_convert(v, a, f, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        inner = args[0] if args else Any
        out = [_convert(v, inner, f, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {type(value).__name__}")
        vt = args[1] if len(args) == 2 else Any
        return {k: _convert(v, vt, f, f"{path}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true/false, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}"
                              + (f" ({_describe(f)})" if f else ""))
        value = float(value)
        if f is not None:
            _check_range(value, f, path)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ConfigError(f"{path}: expected an integer, got {value!r}"
                                  + (f" ({_describe(f)})" if f else ""))
        if f is not None:
            _check_range(value, f, path)
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        if f is not None and f.metadata.get("choices") and value not in f.metadata["choices"]:
            raise ConfigError(f"{path} = {value!r} is not one of {list(f.metadata['choices'])}")
        return value
    return value


def from_mapping(cls: type, data: Mapping[str, Any] | None, where: str = "") -> Any:
    """Build the frozen dataclass ``cls`` from ``data``, validating keys, types and ranges."""
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    prefix = f"{where}." if where else ""
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown key in {where or cls.__name__}; "
                          f"valid keys: {', '.join(sorted(fields))}")
    kwargs = {}
    for name, f in fields.items():
        path = f"{prefix}{name}"
        if name not in data:
            if f.default is _MISSING and f.default_factory is _MISSING:
                raise ConfigError(f"{path}: required key is missing ({_describe(f)})")
            continue
        kwargs[name] = _convert(data[name], hints[name], f, path)
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except ConfigError:
            raise
        except ValueError as e:
            raise ConfigError(f"{where or cls.__name__}: {e}") from e
    return obj


def to_mapping(obj: Any) -> dict:
    """The plain-data form of a config dataclass (what from_mapping reads back)."""
    return dataclasses.asdict(obj)


def load_yaml(path: str | Path) -> dict:
    """Read a YAML file into a mapping, with a clear error when it is missing or malformed."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {e}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: top level must be a mapping, got {type(data).__name__}")
    return data


def section(data: Mapping[str, Any], key: str, source: str = "config") -> Mapping[str, Any]:
    """``data[key]`` as a mapping, with a clear error when the section is missing."""
    if key not in data:
        raise ConfigError(f"{source}: missing section '{key}' (sections present: {', '.join(data) or 'none'})")
    value = data[key]
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: section '{key}' must be a mapping")
    return value


def describe_fields(cls: type) -> list[str]:
    """One line per field: name [unit] - doc (range), for --help texts and docs."""
    lines = []
    for f in dataclasses.fields(cls):
        rng = [f"{k} {f.metadata[k]}" for k in ("ge", "gt", "le", "lt") if f.metadata.get(k) is not None]
        lines.append(_describe(f) + (f" ({', '.join(rng)})" if rng else ""))
    return lines
