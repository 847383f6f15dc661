"""`tracker-play`: publish a contract bag over DDS with its recorded header stamps and drive /clock.

The bag's serialized messages are republished unchanged (no decode/re-encode: the CDR bytes are what a ROS 2
publisher sends), with /clock set to each message's bag time so that nodes with use_sim_time follow the bag.
/tf_static is published latched (transient local). Pacing:

* ``--rate R``: real time scaled by R (bag receive times);
* ``--lockstep``: as fast as the tracker allows: before each RGB frame, wait until /tracker/tracks carries the
  previous RGB stamp (or ``lockstep_timeout_s``). Nothing is dropped by queues, so every set gets processed.

``--loop N`` plays the bag N times (0 = until ctrl-c): loop k shifts every header stamp, bag time and /clock by
k x (bag duration + one RGB frame period), so time never goes backwards and no stamp repeats (/tf: every
transform's stamp); /tf_static is published in the first loop only (it is latched). Other messages without a
header are republished unchanged.
``--stop TOPIC@SECONDS`` stops publishing a topic SECONDS after the start of playback (a camera that dies).
``--publish-log FILE`` writes {rgb stamp ns: wall publish time} for end-to-end latency.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

import numpy as np

from tracker.common.config import from_mapping, load_yaml, param, section
from tracker.data.bag import Bag
from tracker.data.contract import TF_MESSAGE, OutputTopics, Topics
from tracker.data.messages import (NS_PER_S, header_stamp_ns, split_ns, stamp_to_ns, try_header_stamp_ns,
                                   with_header_stamp)

from .config import QosProfileConfig, repo_root

WAIT_WAKE_S = 0.05  # lockstep wait: longest sleep between checks (spin_once returns early on any callback)
DISCOVERY_POLL_S = 0.05  # sleep between checks for subscribers / the tracker's publisher
IDLE_SPIN_S = 0.02  # spin period while pausing (start delay, drain)
PACE_WAKE_S = 0.01  # real-time pacing: longest sleep before a message is due
LOOP_FOREVER = 0
CLOCK_QOS = QosProfileConfig("reliable", 10, "volatile")
LATCHED_SUFFIX = "tf_static"  # topics published transient-local (and only in the first loop)


@dataclass(frozen=True)
class PlayerConfig:
    rate: float = param(1.0, unit="1", gt=0.0, le=100.0, doc="playback speed factor (real-time pacing)")
    lockstep: bool = param(False, doc="wait for the tracker's output of each RGB frame before the next one")
    lockstep_timeout_s: float = param(2.0, unit="s", gt=0.0, doc="longest wait for one output in lockstep mode")
    output_topic: str = param(OutputTopics.tracks, doc="topic watched in lockstep mode")
    color_image: str = param(Topics.color_image, doc="the RGB topic (pivot of lockstep and latency log)")
    publish_clock: bool = param(True, doc="publish /clock (bag time) for use_sim_time nodes")
    include_ground_truth: bool = param(False, doc="also publish /ground_truth/* topics")
    wait_for_subscribers_s: float = param(20.0, unit="s", ge=0.0,
                                          doc="wait this long for a subscriber on the RGB topic before playing")
    start_delay_s: float = param(0.5, unit="s", ge=0.0, doc="pause after discovery before the first message")
    qos: QosProfileConfig = param(default_factory=lambda: QosProfileConfig("reliable", 20, "volatile"),
                                  doc="QoS of the image and camera_info publishers")
    loops: int = param(1, unit="plays", ge=0, doc="play the bag this many times (0 = until interrupted), stamps "
                       "shifted by the bag duration plus one RGB frame period per loop")
    drain_s: float = param(0.5, unit="s", ge=0.0, doc="keep spinning this long after the last message so that "
                           "reliable writers deliver before the node goes away")


def load_player_config(path: str | Path | None) -> PlayerConfig:
    if path is None:
        path = repo_root() / "config" / "player.yaml"
    return from_mapping(PlayerConfig, section(load_yaml(path), "player", str(path)), where="player")


# ------------------------------------------------------------------------------------------ ROS-free looping
class BagMessage(NamedTuple):
    topic: str
    msgtype: str
    t_bag_ns: int  # bag (receive) time, shifted for the loop
    raw: bytes  # CDR bytes, header stamp shifted for the loop
    loop: int  # 0-based


def frame_period_ns(stamps: Iterable[int]) -> int:
    """Median positive gap between sorted stamps (1 ns when there are fewer than two distinct stamps)."""
    gaps = np.diff(np.sort(np.asarray(list(stamps), dtype=np.int64)))
    gaps = gaps[gaps > 0]
    return int(np.median(gaps)) if gaps.size else 1


def looped(bag: Bag, loops: int, color_topic: str, topics: Iterable[str] | None = None
           ) -> Iterator[BagMessage]:
    """The bag's messages (of ``topics``; None = all), ``loops`` times (0 = forever), in bag order; loop k is
    shifted by k x (bag duration + median RGB frame period). Latched topics (tf_static) come in loop 0 only."""
    topics = list(bag.connections) if topics is None else [t for t in topics if t in bag.connections]
    if not topics or not any(bag.count(t) for t in topics):
        return
    header = {t: bag.has_header(t) for t in topics}
    repeated = [t for t in topics if bag.count(t) and not t.endswith(LATCHED_SUFFIX)]
    rgb_stamps: list[int] = []
    period = 0
    k = 0
    while (loops == LOOP_FOREVER or k < loops) and (k == 0 or repeated):
        shift = k * period
        for conn, t_bag, raw in bag.raw(topics if k == 0 else repeated):
            if header[conn.topic]:
                if k == 0 and conn.topic == color_topic:
                    rgb_stamps.append(header_stamp_ns(raw))
                if shift:
                    raw = with_header_stamp(raw, header_stamp_ns(raw) + shift)
            elif shift and conn.msgtype == TF_MESSAGE:  # /tf: the stamps are the transforms'
                raw = shifted_tf(bag.typestore, raw, shift)
            yield BagMessage(conn.topic, conn.msgtype, int(t_bag) + shift, bytes(raw), k)
        period = bag.duration_ns + frame_period_ns(rgb_stamps)
        k += 1


def shifted_tf(typestore, raw, shift_ns: int) -> bytes:
    """A serialised tf2_msgs/TFMessage with every transform's header stamp moved by ``shift_ns``."""
    msg = typestore.deserialize_cdr(bytes(raw), TF_MESSAGE)
    for ts in msg.transforms:
        ts.header.stamp.sec, ts.header.stamp.nanosec = split_ns(stamp_to_ns(ts.header.stamp) + shift_ns)
    return bytes(typestore.serialize_cdr(msg, TF_MESSAGE))


# ------------------------------------------------------------------------------------------------ playback
class _Playback:
    """The player node's publishers, pacing and counters."""

    def __init__(self, node, bag: Bag, cfg: PlayerConfig, stops: dict[str, float]):
        from rosgraph_msgs.msg import Clock
        from vision_msgs.msg import Detection3DArray

        from . import qos as qosmod
        from .conversions import msg_class, stamp_to_ns
        self.node, self.cfg, self.stops = node, cfg, dict(stops)
        self.log = node.get_logger()
        self.pubs = {}
        for topic in bag.connections:
            if topic.startswith("/ground_truth") and not cfg.include_ground_truth:
                continue
            q = qosmod.latched() if topic.endswith(LATCHED_SUFFIX) else qosmod.profile(cfg.qos)
            self.pubs[topic] = node.create_publisher(msg_class(bag.msgtype(topic)), topic, q)
        self.clock_pub = node.create_publisher(Clock, "/clock", qosmod.profile(CLOCK_QOS))
        self.outputs: set[int] = set()
        if cfg.lockstep:
            node.create_subscription(Detection3DArray, cfg.output_topic,
                                     lambda m: self.outputs.add(stamp_to_ns(m.header.stamp)), 50)
        self.counts: dict[str, int] = {}
        self.pub_log: dict[int, float] = {}
        self.stopped: set[str] = set()
        self.waited_out = 0
        self.loops_done = 0
        self.start_wall: float | None = None
        self.t0_bag: int | None = None
        self.last_rgb: int | None = None
        self.clock_ns = 0

    def spin(self, dt: float) -> None:
        import rclpy
        rclpy.spin_once(self.node, timeout_sec=dt)

    def pause(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.spin(IDLE_SPIN_S)

    def wait_output(self, stamp_ns: int) -> bool:
        # spin_once returns as soon as a callback ran, so a long timeout costs no latency, only fewer wake-ups
        deadline = time.monotonic() + self.cfg.lockstep_timeout_s
        while stamp_ns not in self.outputs:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.spin(min(left, WAIT_WAKE_S))
        return True

    def discover(self) -> None:
        """Wait for the tracker to subscribe (and, in lockstep, to publish), then the start delay."""
        cfg = self.cfg
        deadline = time.monotonic() + cfg.wait_for_subscribers_s
        rgb_pub = self.pubs.get(cfg.color_image)
        while rgb_pub is not None and rgb_pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            self.spin(DISCOVERY_POLL_S)
        if rgb_pub is not None and rgb_pub.get_subscription_count() == 0:
            self.log.warning(f"no subscriber on {cfg.color_image} after {cfg.wait_for_subscribers_s} s: "
                             "playing anyway")
        if cfg.lockstep:
            while self.node.count_publishers(cfg.output_topic) == 0 and time.monotonic() < deadline:
                self.spin(DISCOVERY_POLL_S)
        self.pause(cfg.start_delay_s)

    def _is_stopped(self, topic: str, rel_s: float) -> bool:
        if topic in self.stopped:
            return True
        if topic in self.stops and rel_s >= self.stops[topic]:
            self.log.warning(f"{topic}: stopped at {rel_s:.2f} s (simulated camera failure)")
            self.stopped.add(topic)
            return True
        return False

    def _pace(self, is_rgb: bool, rel_s: float) -> None:
        if self.cfg.lockstep:
            if is_rgb and self.last_rgb is not None:
                if not self.wait_output(self.last_rgb):
                    self.waited_out += 1
            else:
                self.spin(0.0)
            return
        target = self.start_wall + rel_s / self.cfg.rate
        while (dt := target - time.monotonic()) > 0:
            self.spin(min(dt, PACE_WAKE_S))

    def step(self, m: BagMessage) -> None:
        """Pace, then publish one message (and /clock)."""
        from rosgraph_msgs.msg import Clock

        from .conversions import ns_to_stamp
        pub = self.pubs.get(m.topic)
        if pub is None:
            return
        if self.t0_bag is None:
            self.t0_bag, self.start_wall = m.t_bag_ns, time.monotonic()
        rel_s = (m.t_bag_ns - self.t0_bag) / NS_PER_S
        if self._is_stopped(m.topic, rel_s):
            return
        is_rgb = m.topic == self.cfg.color_image
        self._pace(is_rgb, rel_s)
        if self.cfg.publish_clock and m.t_bag_ns > self.clock_ns:
            self.clock_ns = m.t_bag_ns
            self.clock_pub.publish(Clock(clock=ns_to_stamp(self.clock_ns)))
        pub.publish(m.raw)
        self.counts[m.topic] = self.counts.get(m.topic, 0) + 1
        self.loops_done = max(self.loops_done, m.loop + 1)
        if is_rgb:
            self.last_rgb = try_header_stamp_ns(m.raw)
            self.pub_log[self.last_rgb] = time.time()

    def finish(self) -> None:
        """Wait for the last RGB frame's output (lockstep), then let reliable writers deliver."""
        if self.cfg.lockstep and self.last_rgb is not None:
            self.wait_output(self.last_rgb)
        self.pause(self.cfg.drain_s)

    def stats(self) -> dict:
        return {"published": self.counts, "rgb_frames": self.counts.get(self.cfg.color_image, 0),
                "lockstep_timeouts": self.waited_out, "loops": self.loops_done}


def play(bag: str | Path, cfg: PlayerConfig, stops: dict[str, float] | None = None,
         publish_log: str | Path | None = None, node_name: str = "bag_player") -> dict:
    """Play ``bag``; returns {published: {topic: n}, rgb_frames, lockstep_timeouts, loops}. With
    ``cfg.loops == 0`` it plays until interrupted (ctrl-c), then returns the same statistics."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    own_init = not rclpy.ok()
    if own_init:
        rclpy.init()
    node = rclpy.create_node(node_name)
    source = Bag(bag)
    try:
        pb = _Playback(node, source, cfg, stops or {})
        pb.discover()
        try:
            for m in looped(source, cfg.loops, cfg.color_image, topics=list(pb.pubs)):
                pb.step(m)
        except (KeyboardInterrupt, ExternalShutdownException):
            if cfg.loops != LOOP_FOREVER:
                raise
        if rclpy.ok():
            pb.finish()
    finally:
        source.close()
        node.destroy_node()
        if own_init and rclpy.ok():
            rclpy.shutdown()
    if publish_log:
        Path(publish_log).write_text(json.dumps({str(k): v for k, v in pb.pub_log.items()}))
    return pb.stats()


def parse_stops(items) -> dict[str, float]:
    out = {}
    for it in items or []:
        topic, _, sec = it.rpartition("@")
        if not topic:
            raise SystemExit(f"--stop expects TOPIC@SECONDS, got {it!r}")
        out[topic] = float(sec)
    return out


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="tracker-play", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bag")
    ap.add_argument("--config", default=None, help="player YAML (default config/player.yaml)")
    ap.add_argument("--rate", type=float, default=None)
    ap.add_argument("--lockstep", action="store_true", default=None)
    ap.add_argument("--loop", type=int, default=None, metavar="N",
                    help="play the bag N times, stamps shifted each loop (0 = until ctrl-c)")
    ap.add_argument("--stop", action="append", default=[], metavar="TOPIC@SECONDS")
    ap.add_argument("--publish-log", default=None)
    return ap


def config_from_args(a: argparse.Namespace) -> PlayerConfig:
    """The YAML config with the command line's overrides."""
    if a.loop is not None and a.loop < 0:
        raise SystemExit(f"--loop expects N >= 0 (0 = forever), got {a.loop}")
    over = {k: v for k, v in (("rate", a.rate), ("lockstep", a.lockstep), ("loops", a.loop)) if v is not None}
    return dataclasses.replace(load_player_config(a.config), **over)


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    stats = play(a.bag, config_from_args(a), parse_stops(a.stop), a.publish_log)
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
