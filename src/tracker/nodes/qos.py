"""QoS profiles from config, the input subscriptions' reliability, and the Fast DDS profile for large images.

Inputs (docs/nodes.md, "QoS"): ``qos.inputs.reliability: auto`` follows the publishers of each input topic,
the way ``ros2 bag record`` adapts to what it records: RELIABLE while every publisher offers RELIABLE (or none is
known yet), BEST_EFFORT as soon as one offers BEST_EFFORT (camera drivers with the sensor-data profile, which a
RELIABLE subscription never matches). A fixed setting cannot serve both kinds of publisher across processes
with Fast DDS' default transports, as measured by bench/bench_qos_delivery.py for 640x480 rgb8 at 30 Hz: a
BEST_EFFORT subscription gets about 1 frame in 10 from a RELIABLE publisher (RELIABLE gets all), and a RELIABLE
subscription gets nothing from a BEST_EFFORT publisher. What a BEST_EFFORT publisher in another process
delivers depends on *its* process's Fast DDS transport: with the shipped profile (config/fastdds_large_images.xml,
a 32 MB shared-memory segment) whole images; with the default 512 KB segment most are lost, whatever the
subscriber does. :func:`use_large_image_profile` points this process at the shipped profile before rclpy.init
(tracker_node's main, tracker-run): the node's own large outputs (debug image) then reach BEST_EFFORT
subscribers such as RViz in other processes.

``InputQosCheck`` re-creates an ``auto`` input's subscription when its publishers' reliability changes (checked
every ``qos.check_period_s`` and on activation), and warns about publishers that cannot match a subscription.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import MutableMapping

from rclpy.qos import (DurabilityPolicy, HistoryPolicy, QoSCompatibility, QoSProfile, ReliabilityPolicy,
                       qos_check_compatible)

from .config import QosProfileConfig, repo_root

AUTO = "auto"  # qos.inputs.reliability: follow the publishers
_REL = {"reliable": ReliabilityPolicy.RELIABLE, "best_effort": ReliabilityPolicy.BEST_EFFORT,
        AUTO: ReliabilityPolicy.RELIABLE}  # auto starts RELIABLE: right for RELIABLE publishers, lossless
_DUR = {"volatile": DurabilityPolicy.VOLATILE, "transient_local": DurabilityPolicy.TRANSIENT_LOCAL}
FASTDDS_PROFILE_VAR = "FASTDDS_DEFAULT_PROFILES_FILE"
TF_LISTENER_DEPTH = 100  # tf2_ros TransformListener's /tf queue


def large_image_profile() -> Path:
    """config/fastdds_large_images.xml: a shared-memory segment that holds whole camera images."""
    return repo_root() / "config" / "fastdds_large_images.xml"


def use_large_image_profile(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Point Fast DDS at the shipped large-image profile unless FASTDDS_DEFAULT_PROFILES_FILE is set already;
    call before rclpy.init (Fast DDS reads the variable once per process). Returns the profile in effect."""
    if not environ.get(FASTDDS_PROFILE_VAR) and large_image_profile().is_file():
        environ[FASTDDS_PROFILE_VAR] = str(large_image_profile())
    return environ.get(FASTDDS_PROFILE_VAR) or None


def profile(cfg: QosProfileConfig) -> QoSProfile:
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=cfg.depth, reliability=_REL[cfg.reliability],
                      durability=_DUR[cfg.durability])


def latched(depth: int = 10) -> QoSProfile:
    """/tf_static: reliable, transient local (what tf2_ros's static broadcaster offers)."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


def tf_listener(depth: int = TF_LISTENER_DEPTH) -> QoSProfile:
    """/tf: reliable, volatile, keep last 100 (what tf2_ros's TransformListener subscribes with)."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


def incompatible_publishers(node, topic: str, sub_qos: QoSProfile) -> list[str]:
    """Descriptions of the publishers on ``topic`` whose QoS cannot match ``sub_qos`` (empty when all match)."""
    out = []
    for info in node.get_publishers_info_by_topic(topic):
        compat, reason = qos_check_compatible(info.qos_profile, sub_qos)
        if compat == QoSCompatibility.ERROR:
            out.append(f"{info.node_namespace.rstrip('/')}/{info.node_name}: {reason or 'incompatible QoS'}")
    return out


def publishers_reliability(node, topic: str) -> ReliabilityPolicy | None:
    """What a subscription to ``topic`` should ask for to match every publisher: BEST_EFFORT when one offers best
    effort, RELIABLE when all offer reliable, None when there is no publisher."""
    offered = {info.qos_profile.reliability for info in node.get_publishers_info_by_topic(topic)}
    if not offered:
        return None
    return ReliabilityPolicy.BEST_EFFORT if ReliabilityPolicy.BEST_EFFORT in offered else ReliabilityPolicy.RELIABLE


def with_reliability(p: QoSProfile, reliability: ReliabilityPolicy) -> QoSProfile:
    return QoSProfile(history=p.history, depth=p.depth, reliability=reliability, durability=p.durability)


def describe(p: QoSProfile) -> str:
    return f"{p.reliability.name.lower()}, depth {p.depth}, {p.durability.name.lower()}"


def describe_config(cfg: QosProfileConfig) -> str:
    if cfg.reliability == AUTO:
        return f"auto (follows the publishers; reliable until one is seen), depth {cfg.depth}, {cfg.durability}"
    return describe(profile(cfg))


class InputQosCheck:
    """The input subscriptions' QoS against their publishers. ``follow(node, subs)`` (``auto`` only) re-creates, in
    place in ``subs``, the input subscriptions whose reliability no longer matches their publishers; ``check(node)``
    returns [(camera, warning text)] for publishers that cannot match, once per (topic, publishers)."""

    def __init__(self, topics: dict[str, tuple[str, ...]], sub_qos: QoSProfile, cfg: QosProfileConfig,
                 config_file: str):
        self._topics = topics  # camera -> its topics (image, camera_info)
        self._qos = sub_qos
        self.auto = cfg.reliability == AUTO
        self._advice = (f"qos.inputs.durability: {cfg.durability} (the publisher's durability, liveliness or deadline)"
                        if self.auto else f"Set qos.inputs.reliability: auto in {config_file}")
        self._current: dict[str, QoSProfile] = {}  # resolved topic -> QoS of its subscription (after follow)
        self.warned: set[tuple[str, tuple[str, ...]]] = set()  # (topic, incompatible publishers) already reported

    def follow(self, node, subs: list) -> list[str]:
        """Re-create the auto inputs' subscriptions whose publishers ask for another reliability; log lines."""
        if not self.auto:
            return []
        inputs = {node.resolve_topic_name(t) for topics in self._topics.values() for t in topics}
        lines = []
        for i, sub in enumerate(subs):
            if sub.topic_name not in inputs:
                continue
            want = publishers_reliability(node, sub.topic_name)
            if want is None or want == sub.qos_profile.reliability:
                continue
            topic, q = sub.topic_name, with_reliability(sub.qos_profile, want)
            msg_type, callback = sub.msg_type, sub.callback
            node.destroy_subscription(sub)  # first: both at once would deliver a message twice
            subs[i] = node.create_subscription(msg_type, topic, callback, q)
            self._current[topic] = q
            lines.append(f"{topic}: publishers offer {want.name.lower()}: subscribed {describe(q)}")
        return lines

    def check(self, node) -> list[tuple[str, str]]:
        out = []
        for cam, topics in self._topics.items():
            for topic in topics:
                name = node.resolve_topic_name(topic)  # fully qualified and remapped, as the publishers see it
                qos = self._current.get(name, self._qos)
                bad = incompatible_publishers(node, name, qos)
                key = (name, tuple(bad))
                if bad and key not in self.warned:
                    self.warned.add(key)
                    out.append((cam, f"{name}: publisher QoS incompatible with our subscription "
                                     f"({describe(qos)}), no message will arrive from: {'; '.join(bad)}. "
                                     f"{self._advice}"))
        return out
