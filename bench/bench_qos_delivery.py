"""How many camera frames from another process reach the tracker node's image subscription, per publisher kind.

    python bench/bench_qos_delivery.py [--sizes 640x480,1280x720] [--seconds 10] [--rate 30]

For each image size, publisher reliability (RELIABLE as tracker-play / most ROS nodes, BEST_EFFORT as camera
drivers with the sensor-data profile) and publisher transport (Fast DDS defaults, or the shipped
config/fastdds_large_images.xml), it starts the tracker node in its own process (the default config, the
process set-up of tracker_node's main: the large-image profile; a detector double that finds nothing, so that
the node runs its whole frame path cheaply) and a publisher process sending rgb8 frames at ``--rate`` for
``--seconds`` once it has matched the node's subscription. Delivered = RGB frames the node's image callback
received (HealthMonitor.sync_received) / frames published. What the node processes is not counted.

The roles (``node``, ``publish``) are also what tests/test_nodes_qos_delivery.py runs.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "/camera/color/image_raw"
MATCH_WAIT_S = 20.0  # a publisher waits this long for the node's subscription (auto switches within check_period_s)
SETTLE_S = 0.5  # after the match, before the first frame
LINGER_S = 1.5  # after the last frame, before the publisher exits (reliable repairs)


class NoDetections:
    """Detector double: no detections, so the node's frame path costs little."""

    def detect(self, rgb, thermal, thermal_encoding, depth):
        from tracker.core.types import Detections
        return Detections.empty()

    def describe(self):
        from tracker.network.info import DetectorInfo
        return DetectorInfo(backend="no detections", device="cpu (bench double)", model_path="",
                            class_names=("person", "vehicle"), input_width=0, input_height=0, stride=1,
                            modalities=("rgb",), version_hash="")

    def close(self) -> None:
        pass


def node_role(config: str | None) -> int:
    """The tracker node with its default configuration until stdin closes; prints what its image callback got."""
    from tracker.nodes import qos as qosmod
    profile = qosmod.use_large_image_profile()  # what tracker_node's main does before rclpy.init
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    from tracker.nodes.runner import bring_up
    from tracker.nodes.tracker_node import TrackerNode
    rclpy.init()
    over = [Parameter("config_file", value=config)] if config else []
    node = TrackerNode("tracker", detector_factory=lambda c, m: NoDetections(), parameter_overrides=over)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    ok = bring_up(node)
    print(json.dumps({"ready": ok}), flush=True)
    while ok and not stop.is_set():
        ex.spin_once(timeout_sec=0.05)
    subs = {s.topic_name: s.qos_profile.reliability.name.lower() for s in node._subs}
    print(json.dumps({"received": node.health.sync_received if ok else 0, "subscription": subs.get(TOPIC),
                      "fastdds_profile": profile}), flush=True)
    ex.remove_node(node)
    node.destroy_node()
    rclpy.shutdown()
    return 0 if ok else 1


def publish_role(reliability: str, width: int, height: int, rate: float, seconds: float) -> int:
    """rgb8 frames on TOPIC at ``rate`` for ``seconds``, from the first match with a subscription on."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from sensor_msgs.msg import Image
    rclpy.init()
    node = rclpy.create_node("camera_driver")
    qos = qos_profile_sensor_data if reliability == "best_effort" else \
        QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    pub = node.create_publisher(Image, TOPIC, qos)
    t0 = time.monotonic()
    while pub.get_subscription_count() == 0 and time.monotonic() - t0 < MATCH_WAIT_S:
        time.sleep(0.02)
    matched = pub.get_subscription_count() > 0
    out = {"matched_after_s": round(time.monotonic() - t0, 2) if matched else None, "published": 0}
    if matched:
        time.sleep(SETTLE_S)
        img = Image(height=height, width=width, encoding="rgb8", step=width * 3, data=bytes(width * height * 3))
        img.header.frame_id = "camera_color_optical_frame"
        n = int(round(rate * seconds))
        start = time.monotonic()
        for i in range(n):
            img.header.stamp = node.get_clock().now().to_msg()
            pub.publish(img)
            time.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))
        out["published"] = n
        out["rate_hz"] = round(n / (time.monotonic() - start), 2)
        time.sleep(LINGER_S)
    print(json.dumps(out), flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0 if matched else 2


def measure(reliability: str, size: tuple[int, int], rate: float, seconds: float, publisher_profile: bool,
            config: str | None = None, timeout_s: float = 120.0) -> dict:
    """One run: node process + publisher process on a fresh ROS domain; returns published/received/%."""
    from tracker.nodes.qos import FASTDDS_PROFILE_VAR, large_image_profile
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(1, 200)))
    env.pop(FASTDDS_PROFILE_VAR, None)
    node_cmd = [sys.executable, __file__, "node"] + (["--config", config] if config else [])
    node = subprocess.Popen(node_cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        ready = json.loads(node.stdout.readline() or "{}")
        if not ready.get("ready"):
            raise RuntimeError("the tracker node did not come up")
        pub_env = dict(env, **({FASTDDS_PROFILE_VAR: str(large_image_profile())} if publisher_profile else {}))
        pub = subprocess.run([sys.executable, __file__, "publish", reliability, f"{size[0]}x{size[1]}", str(rate),
                              str(seconds)], env=pub_env, capture_output=True, text=True, timeout=timeout_s, cwd=ROOT)
        sent = json.loads(pub.stdout.strip().splitlines()[-1]) if pub.stdout.strip() else {"published": 0}
        out, _ = node.communicate("", timeout=timeout_s)
    finally:
        if node.poll() is None:
            node.kill()
    got = json.loads(out.strip().splitlines()[-1])
    n = sent.get("published", 0)
    return {"size": f"{size[0]}x{size[1]}", "publisher": reliability,
            "publisher_transport": "large-image profile" if publisher_profile else "Fast DDS default",
            "published": n, "received": got["received"], "delivered_pct": round(100.0 * got["received"] / n, 1)
            if n else 0.0, "node_subscription": got["subscription"], "matched_after_s": sent.get("matched_after_s"),
            "publish_rate_hz": sent.get("rate_hz")}


def _node_config(reliability: str) -> str:
    """config/tracker_node.yaml with qos.inputs.reliability set, in build/bench/."""
    import yaml
    data = yaml.safe_load((ROOT / "config" / "tracker_node.yaml").read_text())
    data.setdefault("qos", {}).setdefault("inputs", {})["reliability"] = reliability
    out = ROOT / "build" / "bench" / f"qos_delivery_{reliability}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(data))
    return str(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    n = sub.add_parser("node")
    n.add_argument("--config", default=None)
    p = sub.add_parser("publish")
    p.add_argument("reliability", choices=("reliable", "best_effort"))
    p.add_argument("size")
    p.add_argument("rate", type=float)
    p.add_argument("seconds", type=float)
    ap.add_argument("--sizes", default="640x480,1280x720")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=30.0)
    ap.add_argument("--publishers", default="reliable,best_effort")
    ap.add_argument("--transports", default="default,profile", help="publisher transports: default, profile")
    ap.add_argument("--node-reliability", default=None, choices=("auto", "reliable", "best_effort"),
                    help="qos.inputs.reliability of the node (default: the YAML's)")
    a = ap.parse_args(argv)
    if a.cmd == "node":
        return node_role(a.config)
    if a.cmd == "publish":
        w, h = (int(x) for x in a.size.split("x"))
        return publish_role(a.reliability, w, h, a.rate, a.seconds)
    config = _node_config(a.node_reliability) if a.node_reliability else None
    rows = []
    for size in a.sizes.split(","):
        w, h = (int(x) for x in size.split("x"))
        for rel in a.publishers.split(","):
            for tr in a.transports.split(","):
                rows.append(measure(rel, (w, h), a.rate, a.seconds, tr == "profile", config))
                print(json.dumps(rows[-1]), flush=True)
    print("| frames | publisher | publisher's transport | node subscribed | delivered |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['size']} rgb8 | {r['publisher']} | {r['publisher_transport']} | {r['node_subscription']} | "
              f"{r['received']}/{r['published']} ({r['delivered_pct']} %) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
