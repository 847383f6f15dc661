"""The tracker node's settings as one flat list of dotted keys (ROS-free): how the node reads each YAML section
into its config objects, every leaf setting with its param() field, and the way back from dotted keys to a
YAML-shaped mapping. tracker.nodes.parameters declares them as ROS parameters; tracker-config prints them.
"""
from __future__ import annotations

import array
import dataclasses
from typing import Any, Iterator, Mapping

from tracker.common.config import ConfigError, from_mapping, iter_values

from .config import node_config_from_mapping


def effective_sections(data: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """{section: value} of every setting as the node builds it from the YAML mapping ``data``: the sections of
    NodeConfig, the processor's sections expanded, and the raw pass-through parts (``tracker``,
    ``backend.options``, ``backend.detector``) validated into their owners' config classes. Raises ConfigError."""
    from tracker.backends import BackendConfig
    from tracker.core import TrackerConfig
    from tracker.network.detector import DetectorConfig
    cfg = node_config_from_mapping(data, source)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.name == "processor":
            out.update({pf.name: getattr(value, pf.name) for pf in dataclasses.fields(value)})
        elif f.name == "backend":
            out["backend.model"] = value.model
            out["backend.options"] = from_mapping(BackendConfig, value.options, where="backend.options")
            out["backend.detector"] = from_mapping(DetectorConfig, value.detector, where="backend.detector")
        elif f.name == "tracker":
            out["tracker"] = TrackerConfig.from_mapping(value)
        elif f.name != "source":
            out[f.name] = value
    return out


def plain(value: Any) -> Any:
    """A value as the config loader reads it (ROS arrays as lists)."""
    return list(value) if isinstance(value, (list, tuple, array.array)) else value


def leaves(sections: Mapping[str, Any]) -> Iterator[tuple[str, Any, dataclasses.Field | None]]:
    """(dotted path, value, field) of every leaf setting of ``effective_sections``; a mapping of plain values
    (depth3d.class_depth_extent_m) is expanded by key, an empty one is a leaf."""
    for name, value in sections.items():
        if dataclasses.is_dataclass(value):
            items = iter_values(value, f"{name}.")
        elif isinstance(value, Mapping) and value:  # a mapping of sections (fallback_extrinsics)
            items = (leaf for k, sec in value.items() for leaf in iter_values(sec, f"{name}.{k}."))
        else:
            items = iter([(name, value, None)])
        for path, v, f in items:
            if isinstance(v, Mapping) and v and not any(isinstance(x, Mapping) for x in v.values()):
                yield from ((f"{path}.{k}", x, f) for k, x in v.items())
            else:
                yield path, v, f


def unflatten(flat: Mapping[str, Any]) -> dict:
    """{'a.b': 1, 'c': {}} -> {'a': {'b': 1}, 'c': {}} (the YAML shape); raises ConfigError when a key is both a
    value and a section."""
    out: dict = {}
    for name, value in flat.items():
        *parents, leaf = name.split(".")
        d = out
        for i, k in enumerate(parents):
            d = d.setdefault(k, {})
            if not isinstance(d, dict):
                raise ConfigError(f"{name}: {'.'.join(parents[:i + 1])} is a value, not a section")
        if isinstance(d.get(leaf), dict) and not isinstance(value, Mapping):
            raise ConfigError(f"{name} is a section, not a value")
        if isinstance(value, Mapping):
            d.setdefault(leaf, {})
        else:
            d[leaf] = plain(value)
    return out
