"""Recorder: subscribes to the tracker's outputs (serialized, no decode) and writes them into a rosbag2 bag
with rosbags. Bag time = wall receive time; every message keeps its header stamp. Receive times per
(topic, header stamp) are kept for latency statistics."""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tracker.common.config import from_mapping, load_yaml, param, section
from tracker.data.contract import OutputTopics
from tracker.data.messages import try_header_stamp_ns
from tracker.data.writer import STORAGES, to_ns

from .config import QosProfileConfig, repo_root

NO_STAMP = -1  # receive-log stamp of a message without a readable header
SPIN_PERIOD_S = 0.1


@dataclass(frozen=True)
class RecorderConfig:
    storage: str = param("mcap", choices=tuple(STORAGES), doc="bag storage")
    qos: QosProfileConfig = param(default_factory=lambda: QosProfileConfig("reliable", 50, "volatile"))
    topics: dict[str, str] = param(default_factory=lambda: OutputTopics().types(), doc="topic -> message type")


def load_recorder_config(path: str | Path | None = None) -> RecorderConfig:
    if path is None:
        path = repo_root() / "config" / "recorder.yaml"
    return from_mapping(RecorderConfig, section(load_yaml(path), "recorder", str(path)), where="recorder")


class Recorder:
    """Attach to a node: ``Recorder(node, out_bag, cfg)``; spin the node; ``close()``."""

    def __init__(self, node, out_bag: str | Path, cfg: RecorderConfig = RecorderConfig()):
        from tracker.data.writer import BagWriter

        from . import qos as qosmod
        from .conversions import msg_class
        self.node = node
        self.path = Path(out_bag)
        self._writer = BagWriter(self.path, storage=cfg.storage).open()
        self.typestore = self._writer.typestore
        self._types = dict(cfg.topics)
        self.counts: dict[str, int] = {t: 0 for t in cfg.topics}
        self.receive: dict[str, list[tuple[int, float]]] = {t: [] for t in cfg.topics}  # (stamp ns, wall s)
        self.last: dict[str, bytes] = {}
        self._subs = []
        q = qosmod.profile(cfg.qos)
        for topic, msgtype in cfg.topics.items():
            self._writer.add_topic(topic, msgtype)
            self._subs.append(node.create_subscription(msg_class(msgtype), topic,
                                                       lambda raw, t=topic: self._on(t, raw), q, raw=True))
        self._open = True

    def _on(self, topic: str, raw: bytes) -> None:
        if not self._open:
            return
        now = time.time()
        stamp = try_header_stamp_ns(raw)
        self._writer.write_serialized(topic, self._types[topic], to_ns(now), raw)
        self.counts[topic] += 1
        self.receive[topic].append((NO_STAMP if stamp is None else stamp, now))
        self.last[topic] = raw

    def publishers_matched(self, topic: str) -> int:
        return self.node.count_publishers(topic)

    def close(self) -> None:
        if self._open:
            self._open = False
            for s in self._subs:
                self.node.destroy_subscription(s)
            self._writer.close()


def main(argv=None) -> int:
    """`python -m tracker.nodes.recorder OUT_BAG [--config config/recorder.yaml] [--duration S]`."""
    import rclpy
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("out_bag")
    ap.add_argument("--config", default=None)
    ap.add_argument("--duration", type=float, default=0.0, help="seconds (0 = until ctrl-c)")
    a = ap.parse_args(argv)
    cfg = load_recorder_config(a.config)
    rclpy.init()
    node = rclpy.create_node("tracker_recorder")
    rec = Recorder(node, a.out_bag, cfg)
    end = time.monotonic() + a.duration if a.duration > 0 else float("inf")
    try:
        while rclpy.ok() and time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=SPIN_PERIOD_S)
    except KeyboardInterrupt:
        pass
    finally:
        rec.close()
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    print({k: v for k, v in rec.counts.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
