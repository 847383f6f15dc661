"""The tracker node's settings as ROS parameters, named by their dotted YAML keys (``sync.slop_s``,
``tracker.classes.person.high_score``), each with a descriptor built from its param() metadata: type, description,
unit, range (FloatingPointRange / IntegerRange where the field has ge/le bounds) and choices.

Where a value comes from, later wins: the code default (param()), the YAML (``config_file``), parameter overrides
given to the node (``--ros-args -p k:=v``, ``--ros-args --params-file f.yaml``, launch ``parameters=[...]``,
rclpy's ``parameter_overrides``). The node merges them and validates the result with the config loader when it is
constructed, and declares every setting with its effective value (``ros2 param get`` shows what the node runs
with); ``configure`` builds the NodeConfig from the parameters. An invalid YAML or override does not stop the
construction: ``configure`` then fails with the loader's message.

Every parameter is read-only (descriptor ``read_only``) except RUNTIME ones, which ``ros2 param set`` changes while
the node runs, without a reset and without dropping tracks: the tracker's per-class score thresholds, the
detector's score threshold, and whether the debug image and markers are published (:func:`apply_runtime`).
Settings without a parameter type (empty lists and mappings) keep their YAML value and are set in the YAML only.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.parameter import Parameter

from tracker.common.config import ConfigError, load_yaml
from tracker.core.tracker import SCORE_FIELDS
from tracker.network.detector import DetectorConfig

from .config import SECTIONS, NodeConfig, node_config_from_mapping
from .settings import effective_sections, leaves, plain, unflatten

#: output switches that can change at runtime (their publishers are created on configure when enabled)
RUNTIME_OUTPUTS = ("debug_image", "markers")
DETECTOR_SCORE = "backend.detector.score_threshold"
INT64 = (-(2 ** 63), 2 ** 63 - 1)


def is_setting(name: str) -> bool:
    """Whether ``name`` is one of the YAML settings (a key under one of the node's sections)."""
    return "." in name and name.split(".", 1)[0] in SECTIONS


def is_runtime(name: str) -> bool:
    """Whether the parameter ``name`` can be changed while the node runs."""
    parts = name.split(".")
    return (name == DETECTOR_SCORE or name in {f"node.{k}" for k in RUNTIME_OUTPUTS}
            or (len(parts) == 4 and parts[:2] == ["tracker", "classes"] and parts[3] in SCORE_FIELDS))


def parameter_type(value: Any) -> Parameter.Type | None:
    """The ROS parameter type of a setting's value; None when it has none (empty list, mapping, None)."""
    if isinstance(value, bool):
        return Parameter.Type.BOOL
    if isinstance(value, int):
        return Parameter.Type.INTEGER
    if isinstance(value, float):
        return Parameter.Type.DOUBLE
    if isinstance(value, str):
        return Parameter.Type.STRING
    if isinstance(value, (list, tuple)) and value:
        for tp, kinds in ((Parameter.Type.BOOL_ARRAY, bool), (Parameter.Type.STRING_ARRAY, str)):
            if all(isinstance(x, kinds) for x in value):
                return tp
        if not any(isinstance(x, bool) for x in value):
            if all(isinstance(x, int) for x in value):
                return Parameter.Type.INTEGER_ARRAY
            if all(isinstance(x, (int, float)) for x in value):
                return Parameter.Type.DOUBLE_ARRAY
    return None


def _range(ptype: Parameter.Type, m: Mapping[str, Any]) -> dict:
    """floating_point_range / integer_range of a field with ge/le bounds (gt/lt fill the other side)."""
    if m.get("ge") is None and m.get("le") is None:
        return {}
    lo = m["ge"] if m.get("ge") is not None else m.get("gt")
    hi = m["le"] if m.get("le") is not None else m.get("lt")
    if ptype is Parameter.Type.DOUBLE:
        return {"floating_point_range": [FloatingPointRange(
            from_value=-math.inf if lo is None else float(lo), to_value=math.inf if hi is None else float(hi),
            step=0.0)]}
    if ptype is Parameter.Type.INTEGER:
        return {"integer_range": [IntegerRange(from_value=INT64[0] if lo is None else math.ceil(lo),
                                               to_value=INT64[1] if hi is None else math.floor(hi), step=1)]}
    return {}


def descriptor(name: str, ptype: Parameter.Type, f: dataclasses.Field | None) -> ParameterDescriptor:
    """The descriptor of setting ``name``: what `ros2 param describe` shows."""
    m = f.metadata if f is not None else {}
    constraints = [f"unit: {m['unit']}"] if m.get("unit") else []
    bounds = [f"{word} {m[k]}" for k, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
              if m.get(k) is not None]
    constraints += [f"range: {', '.join(bounds)}"] if bounds else []
    constraints += [f"one of: {', '.join(map(str, m['choices']))}"] if m.get("choices") else []
    constraints += ["changes at runtime" if is_runtime(name) else "read-only: set it in the YAML or as a "
                    "parameter override when the node starts"]
    return ParameterDescriptor(name=name, type=ptype.value, description=m.get("doc") or name,
                               additional_constraints="; ".join(constraints), read_only=not is_runtime(name),
                               **_range(ptype, m))


class NodeParameters:
    """The settings of one node as parameters: declared on construction, read back by configure, checked when set.

    ``error`` is the loader's message when the YAML or an override is invalid (configure fails with it)."""

    def __init__(self, node, config_file: str):
        self.source = str(config_file)
        self.error: str | None = None
        self.names: tuple[str, ...] = ()
        self._fixed: dict[str, Any] = {}  # settings without a parameter type: their YAML value
        overrides = {k: plain(p.value) for k, p in getattr(node, "_parameter_overrides", {}).items()
                     if is_setting(k)}  # rclpy keeps no public list of the overrides given to a node
        try:
            flat = {p: v for p, v, _ in leaves(effective_sections(load_yaml(config_file), self.source))}
        except ConfigError as e:
            self.error = str(e)
            return
        try:
            sections = effective_sections(unflatten({**flat, **overrides}), f"{self.source} + parameter overrides")
        except ConfigError as e:
            self.error = f"parameter overrides: {e}"
            sections = effective_sections(unflatten(flat), self.source)
        self._declare(node, sections)

    def _declare(self, node, sections: Mapping[str, Any]) -> None:
        names = []
        for path, value, f in leaves(sections):
            ptype = parameter_type(value)
            if ptype is None:
                self._fixed[path] = value
                continue
            value = [float(x) for x in value] if ptype is Parameter.Type.DOUBLE_ARRAY else plain(value)
            node.declare_parameter(path, value, descriptor(path, ptype, f), ignore_override=True)
            names.append(path)
        self.names = tuple(names)

    def mapping(self, node, changed: Mapping[str, Any] | None = None) -> dict:
        """The YAML-shaped mapping of the current parameter values (with ``changed`` {name: value} applied)."""
        values = {n: node.get_parameter(n).value for n in self.names}
        return unflatten({**self._fixed, **values, **(changed or {})})

    def node_config(self, node) -> NodeConfig:
        """What configure runs with; raises ConfigError (the loader's message)."""
        if self.error:
            raise ConfigError(self.error)
        return node_config_from_mapping(self.mapping(node), source=self.source)

    def check(self, node, params: list) -> tuple[NodeConfig, dict[str, Any]]:
        """(NodeConfig, sections) with the parameters ``params`` set; raises ConfigError with the loader's
        message when the result is invalid (e.g. a low_score above its high_score)."""
        mapping = self.mapping(node, {p.name: p.value for p in params})
        where = ", ".join(p.name for p in params)
        try:
            return node_config_from_mapping(mapping, source=self.source), effective_sections(mapping, where)
        except ConfigError as e:
            raise ConfigError(str(e) if any(p.name in str(e) for p in params) else f"{where}: {e}") from e


def apply_runtime(processor, outputs, sections: Mapping[str, Any], names: list[str]) -> None:
    """Hand the RUNTIME settings ``names`` of the validated ``sections`` to the live objects. Raises ValueError
    (nothing changed) when one cannot take its new value. The caller holds the lock of the frames."""
    detector = processor.detector
    if DETECTOR_SCORE in names and not isinstance(getattr(detector, "config", None), DetectorConfig):
        raise ValueError(f"{DETECTOR_SCORE}: the detector in use ({detector.describe().backend}) has no score "
                         "threshold to change")
    node = sections["node"]
    for key in RUNTIME_OUTPUTS:
        if f"node.{key}" in names and getattr(node, key) and not outputs.created(key):
            raise ValueError(f"node.{key}: its publisher is created on configure only when enabled; it was "
                             "disabled then: enable it in the YAML or as a parameter override and reconfigure "
                             "(cleanup, configure)")
    if any(n.startswith("tracker.") for n in names):
        processor.tracker.set_score_thresholds(sections["tracker"])
    if DETECTOR_SCORE in names:
        detector.config = dataclasses.replace(detector.config,
                                              score_threshold=sections["backend.detector"].score_threshold)
    for key in RUNTIME_OUTPUTS:
        if f"node.{key}" in names:
            outputs.set_enabled(key, getattr(node, key))
