"""Configuration as data: YAML sections copied into frozen dataclasses with units and ranges.

Every threshold is a dataclass field declared with :func:`param`, which records its unit, its valid range
and a one-line description. :func:`from_mapping` builds the dataclass from a YAML mapping, rejects unknown
keys (with the list of valid ones), requires every field that has no default, converts numbers, and checks
ranges, raising :class:`ConfigError` with the full dotted path of the offending key. A missing key takes the code
default (the param() default is the one home of every default; YAML files state only what they change).
:func:`describe_values` lists every effective setting with its unit, range and description.

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


def _default_of(f: dataclasses.Field) -> Any:
    """The field's default value (a fresh one from its factory), or _MISSING."""
    if f.default is not _MISSING:
        return f.default
    if f.default_factory is not _MISSING:
        return f.default_factory()
    return _MISSING


def _convert_union(value: Any, args: tuple, f: dataclasses.Field | None, path: str, default: Any) -> Any:
    if value is None and type(None) in args:
        return None
    errors = []
    for a in args:
        if a is type(None):
            continue
        try:
            return _convert(value, a, f, path, default)
        except ConfigError as e:
            errors.append(str(e))
    raise ConfigError(errors[0] if errors else f"{path}: invalid value {value!r}")


def _convert_sequence(value: Any, origin: Any, args: tuple, f: dataclasses.Field | None, path: str) -> Any:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{path}: expected a list, got {type(value).__name__} {value!r}")
    if origin is tuple and args and args[-1] is not Ellipsis:
        if len(args) != len(value):
            raise ConfigError(f"{path}: expected {len(args)} values, got {len(value)}")
        return tuple(_convert(v, a, f, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    inner = args[0] if args else Any
    out = [_convert(v, inner, f, f"{path}[{i}]") for i, v in enumerate(value)]
    return tuple(out) if origin is tuple else out


def _convert_mapping(value: Any, args: tuple, f: dataclasses.Field | None, path: str, default: Any) -> dict:
    """A mapping: every given key converted; an entry starts from the default's entry of the same name."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: expected a mapping, got {type(value).__name__}")
    vt = args[1] if len(args) == 2 else Any
    defaults = default if isinstance(default, Mapping) else {}
    return {k: _convert(v, vt, f, f"{path}.{k}", defaults.get(k, _MISSING)) for k, v in value.items()}


def _convert_number(value: Any, tp: type, f: dataclasses.Field | None, path: str) -> Any:
    word = "a number" if tp is float else "an integer"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}: expected {word}, got {value!r}" + (f" ({_describe(f)})" if f else ""))
    if tp is float:
        value = float(value)
    elif isinstance(value, float):
        if not value.is_integer():
            raise ConfigError(f"{path}: expected {word}, got {value!r}" + (f" ({_describe(f)})" if f else ""))
        value = int(value)
    if f is not None:
        _check_range(value, f, path)
    return value


def _convert_scalar(value: Any, tp: Any, f: dataclasses.Field | None, path: str) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true/false, got {value!r}")
        return value
    if tp in (float, int):
        return _convert_number(value, tp, f, path)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        if f is not None and f.metadata.get("choices") and value not in f.metadata["choices"]:
            raise ConfigError(f"{path} = {value!r} is not one of {list(f.metadata['choices'])}")
        return value
    return value


def _convert(value: Any, tp: Any, f: dataclasses.Field | None, path: str, default: Any = _MISSING) -> Any:
    """``value`` as type ``tp``; ``default`` is what the code would use without it (nested sections and
    mapping entries start from it)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _convert_union(value, args, f, path, default)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a mapping for {tp.__name__}, got {type(value).__name__}")
        return from_mapping(tp, value, where=path, base=default if isinstance(default, tp) else None)
    if origin in (tuple, list):
        return _convert_sequence(value, origin, args, f, path)
    if origin in (dict, Mapping) or tp is dict:
        return _convert_mapping(value, args, f, path, default)
    return _convert_scalar(value, tp, f, path)


def _reject_unknown(cls: type, data: Mapping[str, Any], fields: Mapping[str, dataclasses.Field], where: str) -> None:
    unknown = sorted(set(data) - set(fields))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(f"{prefix}{unknown[0]}: unknown key in {where or cls.__name__}; "
                          f"valid keys: {', '.join(sorted(fields))}")


def _run_validate(obj: Any, where: str) -> None:
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except ConfigError:
            raise
        except ValueError as e:
            raise ConfigError(f"{where}: {e}") from e


def from_mapping(cls: type, data: Mapping[str, Any] | None, where: str = "", base: Any = None) -> Any:
    """Build the frozen dataclass ``cls`` from ``data``, validating keys, types and ranges.

    A key missing from ``data`` takes its value from ``base`` when given, else the field's default (a nested
    section given in part keeps the rest of the field's default, e.g. ``qos.outputs``)."""
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    _reject_unknown(cls, data, fields, where)
    prefix = f"{where}." if where else ""
    kwargs = {}
    for name, f in fields.items():
        path = f"{prefix}{name}"
        if name in data:
            default = getattr(base, name) if base is not None else _default_of(f)
            kwargs[name] = _convert(data[name], hints[name], f, path, default)
        elif base is not None:
            kwargs[name] = getattr(base, name)
        elif f.default is _MISSING and f.default_factory is _MISSING:
            raise ConfigError(f"{path}: required key is missing ({_describe(f)})")
    obj = cls(**kwargs)
    _run_validate(obj, where or cls.__name__)
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


def _range_text(f: dataclasses.Field) -> str:
    rng = [f"{k} {f.metadata[k]}" for k in ("ge", "gt", "le", "lt") if f.metadata.get(k) is not None]
    return f" ({', '.join(rng)})" if rng else ""


def describe_fields(cls: type) -> list[str]:
    """One line per field: name [unit] - doc (range), for --help texts and docs."""
    return [_describe(f) + _range_text(f) for f in dataclasses.fields(cls)]


def iter_values(obj: Any, prefix: str = "") -> typing.Iterator[tuple[str, Any, dataclasses.Field | None]]:
    """(dotted path, value, field) of every leaf setting of a config dataclass, nested sections and mappings of
    sections expanded (a mapping entry carries the field of the mapping)."""
    for f in dataclasses.fields(obj):
        path, value = f"{prefix}{f.name}", getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from iter_values(value, f"{path}.")
        elif isinstance(value, Mapping) and value and all(dataclasses.is_dataclass(v) for v in value.values()):
            for k, v in value.items():
                yield from iter_values(v, f"{path}.{k}.")
        else:
            yield path, value, f


def describe_values(obj: Any, prefix: str = "", marked: typing.Collection[str] = ()) -> list[str]:
    """One line per leaf setting: ``path = value [unit] (range) - doc``; paths in ``marked`` get a ``*``."""
    lines = []
    for path, value, f in iter_values(obj, prefix):
        m = f.metadata if f is not None else {}
        unit = f" [{m['unit']}]" if m.get("unit") else ""
        rng = _range_text(f) if f is not None else ""
        rng += f" (one of {', '.join(map(str, m['choices']))})" if m.get("choices") else ""
        doc = f" - {m['doc']}" if m.get("doc") else ""
        lines.append(f"{'*' if path in marked else ' '} {path} = {value!r}{unit}{rng}{doc}")
    return lines


def parse_names(names: str | typing.Iterable[str] | None, valid: typing.Collection[str], kind: str) -> list[str]:
    """A comma-separated string (or iterable) of names, stripped, each checked against ``valid``; ConfigError
    naming the unknown one and the valid list (e.g. the simulators' preset lists)."""
    if names is None:
        return []
    if isinstance(names, str):
        names = names.split(",")
    out = [n.strip() for n in names if n and n.strip()]
    for n in out:
        if n not in valid:
            raise ConfigError(f"unknown {kind} {n!r}; valid {kind}s: {', '.join(valid)}")
    return out
