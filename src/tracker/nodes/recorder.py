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

from .config import QosProfileConfig, repo_root

_DEFAULT_TOPICS = {
    "/tracker/tracks": "vision_msgs/msg/Detection3DArray",
    "/tracker/tracks_2d": "vision_msgs/msg/Detection2DArray",
    "/tracker/track_array": "tracker_msgs/msg/TrackArray",
    "/tracker/detections_2d": "vision_msgs/msg/Detection2DArray",
    "/tracker/markers": "visualization_msgs/msg/MarkerArray",
    "/tracker/debug_image": "sensor_msgs/msg/Image",
    "/diagnostics": "diagnostic_msgs/msg/DiagnosticArray",
}


@dataclass(frozen=True)
class RecorderConfig:
    storage: str = param("mcap", choices=("mcap", "sqlite3"), doc="bag storage")
    qos: QosProfileConfig = param(default_factory=lambda: QosProfileConfig("reliable", 50, "volatile"))
    topics: dict[str, str] = param(default_factory=lambda: dict(_DEFAULT_TOPICS), doc="topic -> message type")


def load_recorder_config(path: str | Path | None = None) -> RecorderConfig:
    if path is None:
        path = repo_root() / "config" / "recorder.yaml"
    return from_mapping(RecorderConfig, section(load_yaml(path), "recorder", str(path)), where="recorder")


class Recorder:
    """Attach to a node: ``Recorder(node, out_bag, cfg)``; spin the node; ``close()``."""

    def __init__(self, node, out_bag: str | Path, cfg: RecorderConfig = RecorderConfig()):
        from rosbags.rosbag2 import StoragePlugin, Writer

        from tracker.data.typestore import get_typestore

        from . import qos as qosmod
        from .player import _msg_class
        self.node = node
        self.path = Path(out_bag)
        self.typestore = get_typestore()
        self._writer = Writer(self.path, version=8, storage_plugin={"mcap": StoragePlugin.MCAP,
                                                                    "sqlite3": StoragePlugin.SQLITE3}[cfg.storage])
        self._writer.open()
        self._conns = {}
        self.counts: dict[str, int] = {t: 0 for t in cfg.topics}
        self.receive: dict[str, list[tuple[int, float]]] = {t: [] for t in cfg.topics}  # (stamp ns, wall s)
        self.last: dict[str, bytes] = {}
        self._subs = []
        q = qosmod.profile(cfg.qos)
        for topic, msgtype in cfg.topics.items():
            self._conns[topic] = self._writer.add_connection(topic, msgtype, typestore=self.typestore)
            self._subs.append(node.create_subscription(_msg_class(msgtype), topic,
                                                       lambda raw, t=topic: self._on(t, raw), q, raw=True))
        self._open = True

    def _on(self, topic: str, raw: bytes) -> None:
        if not self._open:
            return
        now = time.time()
        from tracker.data.reader import header_stamp_ns
        try:
            stamp = header_stamp_ns(raw)
        except Exception:
            stamp = -1
        self._writer.write(self._conns[topic], int(now * 1e9), raw)
        self.counts[topic] += 1
        self.receive[topic].append((stamp, now))
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
            rclpy.spin_once(node, timeout_sec=0.1)
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
