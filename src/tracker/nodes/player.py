"""`tracker-play`: publish a contract bag over DDS with its recorded header stamps and drive /clock.

The bag's serialized messages are republished unchanged (no decode/re-encode: the CDR bytes are what a ROS 2
publisher sends), with /clock set to each message's bag time so that nodes with use_sim_time follow the bag.
/tf_static is published latched (transient local). Pacing:

* ``--rate R``: real time scaled by R (bag receive times);
* ``--lockstep``: as fast as the tracker allows: before each RGB frame, wait until /tracker/tracks carries the
  previous RGB stamp (or ``lockstep_timeout_s``). Nothing is dropped by queues, so every set gets processed.

``--stop TOPIC@SECONDS`` stops publishing a topic SECONDS after the start of the bag (a camera that dies).
``--publish-log FILE`` writes {rgb stamp ns: wall publish time} for end-to-end latency.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tracker.common.config import from_mapping, load_yaml, param, section

from .config import QosProfileConfig, repo_root


WAIT_WAKE_S = 0.05  # lockstep wait: longest sleep between checks (spin_once returns early on any callback)


@dataclass(frozen=True)
class PlayerConfig:
    rate: float = param(1.0, unit="1", gt=0.0, le=100.0, doc="playback speed factor (real-time pacing)")
    lockstep: bool = param(False, doc="wait for the tracker's output of each RGB frame before the next one")
    lockstep_timeout_s: float = param(2.0, unit="s", gt=0.0, doc="longest wait for one output in lockstep mode")
    output_topic: str = param("/tracker/tracks", doc="topic watched in lockstep mode")
    color_image: str = param("/camera/color/image_raw", doc="the RGB topic (pivot of lockstep and latency log)")
    publish_clock: bool = param(True, doc="publish /clock (bag time) for use_sim_time nodes")
    include_ground_truth: bool = param(False, doc="also publish /ground_truth/* topics")
    wait_for_subscribers_s: float = param(20.0, unit="s", ge=0.0,
                                          doc="wait this long for a subscriber on the RGB topic before playing")
    start_delay_s: float = param(0.5, unit="s", ge=0.0, doc="pause after discovery before the first message")
    qos: QosProfileConfig = param(default_factory=lambda: QosProfileConfig("reliable", 20, "volatile"),
                                  doc="QoS of the image and camera_info publishers")


def load_player_config(path: str | Path | None) -> PlayerConfig:
    if path is None:
        path = repo_root() / "config" / "player.yaml"
    return from_mapping(PlayerConfig, section(load_yaml(path), "player", str(path)), where="player")


def _msg_class(msgtype: str):
    pkg, _, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{pkg}.msg"), name)


def _header_ns(raw) -> int | None:
    from tracker.data.reader import header_stamp_ns
    try:
        return header_stamp_ns(raw)
    except Exception:
        return None


def play(bag: str | Path, cfg: PlayerConfig, stops: dict[str, float] | None = None,
         publish_log: str | Path | None = None, node_name: str = "bag_player") -> dict:
    """Play ``bag``; returns {published: {topic: n}, rgb_frames, waited_out (lockstep timeouts)}."""
    import rclpy
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from rosbags.rosbag2 import Reader
    from rosgraph_msgs.msg import Clock
    from vision_msgs.msg import Detection3DArray

    from . import qos as qosmod
    from .conversions import ns_to_stamp, stamp_to_ns

    stops = dict(stops or {})
    own_init = not rclpy.ok()
    if own_init:
        rclpy.init()
    node = rclpy.create_node(node_name)
    log = node.get_logger()
    reader = Reader(Path(bag))
    reader.open()
    pubs = {}
    img_qos = qosmod.profile(cfg.qos)
    for c in reader.connections:
        if c.topic in pubs:
            continue
        if c.topic.startswith("/ground_truth") and not cfg.include_ground_truth:
            continue
        qos = qosmod.latched() if c.topic.endswith("tf_static") else img_qos
        pubs[c.topic] = node.create_publisher(_msg_class(c.msgtype), c.topic, qos)
    clock_pub = node.create_publisher(Clock, "/clock", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                                                                  durability=DurabilityPolicy.VOLATILE))
    outputs: set[int] = set()
    if cfg.lockstep:
        node.create_subscription(Detection3DArray, cfg.output_topic,
                                 lambda m: outputs.add(stamp_to_ns(m.header.stamp)), 50)

    def spin(dt: float) -> None:
        rclpy.spin_once(node, timeout_sec=dt)

    def wait_output(stamp_ns: int, deadline: float) -> bool:
        # spin_once returns as soon as a callback ran, so a long timeout costs no latency, only fewer wake-ups
        while stamp_ns not in outputs:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            spin(min(left, WAIT_WAKE_S))
        return True

    # discovery: wait for the tracker to subscribe
    deadline = time.monotonic() + cfg.wait_for_subscribers_s
    rgb_pub = pubs.get(cfg.color_image)
    while rgb_pub is not None and rgb_pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        spin(0.05)
    if rgb_pub is not None and rgb_pub.get_subscription_count() == 0:
        log.warning(f"no subscriber on {cfg.color_image} after {cfg.wait_for_subscribers_s} s: playing anyway")
    if cfg.lockstep:
        while node.count_publishers(cfg.output_topic) == 0 and time.monotonic() < deadline:
            spin(0.05)
    t_end = time.monotonic() + cfg.start_delay_s
    while time.monotonic() < t_end:
        spin(0.02)

    counts: dict[str, int] = {}
    pub_log: dict[int, float] = {}
    waited_out = 0
    start_wall = None
    t0_bag = None
    last_rgb: int | None = None
    clock_ns = 0
    try:
        for conn, t_bag, raw in reader.messages():
            pub = pubs.get(conn.topic)
            if pub is None:
                continue
            if t0_bag is None:
                t0_bag, start_wall = t_bag, time.monotonic()
            rel = (t_bag - t0_bag) / 1e9
            if conn.topic in stops and rel >= stops[conn.topic]:
                if stops[conn.topic] >= 0:
                    log.warning(f"{conn.topic}: stopped at {rel:.2f} s (simulated camera failure)")
                    stops[conn.topic] = -1.0
                continue
            if conn.topic in stops and stops[conn.topic] < 0:
                continue
            is_rgb = conn.topic == cfg.color_image
            if cfg.lockstep:
                if is_rgb and last_rgb is not None:
                    if not wait_output(last_rgb, time.monotonic() + cfg.lockstep_timeout_s):
                        waited_out += 1
                else:
                    spin(0.0)
            else:
                target = start_wall + rel / cfg.rate
                while True:
                    dt = target - time.monotonic()
                    if dt <= 0:
                        break
                    spin(min(dt, 0.01))
            if cfg.publish_clock and t_bag > clock_ns:
                clock_ns = t_bag
                clock_pub.publish(Clock(clock=ns_to_stamp(clock_ns)))
            pub.publish(bytes(raw))
            counts[conn.topic] = counts.get(conn.topic, 0) + 1
            if is_rgb:
                last_rgb = _header_ns(raw)
                pub_log[last_rgb] = time.time()
        if cfg.lockstep and last_rgb is not None:
            wait_output(last_rgb, time.monotonic() + cfg.lockstep_timeout_s)
        # let reliable writers deliver before the node disappears
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            spin(0.02)
    finally:
        reader.close()
        node.destroy_node()
        if own_init and rclpy.ok():
            rclpy.shutdown()
    if publish_log:
        Path(publish_log).write_text(json.dumps({str(k): v for k, v in pub_log.items()}))
    return {"published": counts, "rgb_frames": counts.get(cfg.color_image, 0), "lockstep_timeouts": waited_out}


def parse_stops(items) -> dict[str, float]:
    out = {}
    for it in items or []:
        topic, _, sec = it.rpartition("@")
        if not topic:
            raise SystemExit(f"--stop expects TOPIC@SECONDS, got {it!r}")
        out[topic] = float(sec)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tracker-play", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bag")
    ap.add_argument("--config", default=None, help="player YAML (default config/player.yaml)")
    ap.add_argument("--rate", type=float, default=None)
    ap.add_argument("--lockstep", action="store_true", default=None)
    ap.add_argument("--stop", action="append", default=[], metavar="TOPIC@SECONDS")
    ap.add_argument("--publish-log", default=None)
    a = ap.parse_args(argv)
    import dataclasses
    cfg = load_player_config(a.config)
    over = {k: v for k, v in (("rate", a.rate), ("lockstep", a.lockstep)) if v is not None}
    cfg = dataclasses.replace(cfg, **over)
    stats = play(a.bag, cfg, parse_stops(a.stop), a.publish_log)
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
