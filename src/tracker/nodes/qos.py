"""QoS profiles from config and the check that an input's publishers can match our subscription.

Why inputs default to RELIABLE here (docs/nodes.md): with the wheels' default Fast DDS, large images sent
BEST_EFFORT between processes are almost all lost (1 of 60 640x480 frames arrived in the measurement
recorded in docs/nodes.md), while RELIABLE delivered 60 of 60. A BEST_EFFORT publisher (most camera
drivers use the sensor-data profile) does not match a RELIABLE subscription at all: the node then warns and
names the setting to change (``qos.inputs.reliability: best_effort``).
"""
from __future__ import annotations

from rclpy.qos import (DurabilityPolicy, HistoryPolicy, QoSCompatibility, QoSProfile, ReliabilityPolicy,
                       qos_check_compatible)

from .config import QosProfileConfig

_REL = {"reliable": ReliabilityPolicy.RELIABLE, "best_effort": ReliabilityPolicy.BEST_EFFORT}
_DUR = {"volatile": DurabilityPolicy.VOLATILE, "transient_local": DurabilityPolicy.TRANSIENT_LOCAL}


def profile(cfg: QosProfileConfig) -> QoSProfile:
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=cfg.depth, reliability=_REL[cfg.reliability],
                      durability=_DUR[cfg.durability])


def latched(depth: int = 10) -> QoSProfile:
    """/tf_static: reliable, transient local (what tf2_ros's static broadcaster offers)."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


def incompatible_publishers(node, topic: str, sub_qos: QoSProfile) -> list[str]:
    """Descriptions of the publishers on ``topic`` whose QoS cannot match ``sub_qos`` (empty when all match)."""
    out = []
    for info in node.get_publishers_info_by_topic(topic):
        compat, reason = qos_check_compatible(info.qos_profile, sub_qos)
        if compat == QoSCompatibility.ERROR:
            out.append(f"{info.node_namespace.rstrip('/')}/{info.node_name}: {reason or 'incompatible QoS'}")
    return out


def describe(p: QoSProfile) -> str:
    return f"{p.reliability.name.lower()}, depth {p.depth}, {p.durability.name.lower()}"


class InputQosCheck:
    """Warns once per (topic, incompatible publishers) about publishers that cannot match an input subscription;
    ``check(node)`` returns [(camera, warning text)] for the new ones."""

    def __init__(self, topics: dict[str, tuple[str, ...]], sub_qos: QoSProfile, cfg: QosProfileConfig,
                 config_file: str):
        self._topics = topics  # camera -> its topics (image, camera_info)
        self._qos = sub_qos
        self._other = "best_effort" if cfg.reliability == "reliable" else "reliable"
        self._config_file = config_file
        self.warned: set[tuple[str, tuple[str, ...]]] = set()  # (topic, incompatible publishers) already reported

    def check(self, node) -> list[tuple[str, str]]:
        out = []
        for cam, topics in self._topics.items():
            for topic in topics:
                bad = incompatible_publishers(node, topic, self._qos)
                key = (topic, tuple(bad))
                if bad and key not in self.warned:
                    self.warned.add(key)
                    out.append((cam, f"{topic}: publisher QoS incompatible with our subscription "
                                     f"({describe(self._qos)}), no message will arrive from: {'; '.join(bad)}. "
                                     f"Set qos.inputs.reliability: {self._other} in {self._config_file}"))
        return out
