"""Input QoS ``auto`` (the default): the subscription follows its publishers' reliability. With the default
configuration, the tracker node's image subscription gets >= 95 % of the 640x480 rgb8 frames a
publisher in another process sends at 30 Hz, for a RELIABLE publisher (Fast DDS defaults, like tracker-play or
ros2 bag play) and for a BEST_EFFORT one (a camera driver with the sensor-data profile, started with the
shipped large-image profile exported, as docs/nodes.md asks for drivers). Counted: what the node's image
callback receives (bench/bench_qos_delivery.py), not what it processes."""
import importlib.util
import random
import sys
import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from tracker.nodes.tracker_node import TrackerNode  # noqa: E402

from nodes_support import FixedDetector, close_nodes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 5.0  # per publisher kind: 150 frames


def _bench():
    spec = importlib.util.spec_from_file_location("bench_qos_delivery", ROOT / "bench" / "bench_qos_delivery.py")
    mod = sys.modules.get(spec.name) or importlib.util.module_from_spec(spec)
    if spec.name not in sys.modules:
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("publisher, publisher_profile, subscription", [
    ("reliable", False, "reliable"),
    ("best_effort", True, "best_effort"),
])
def test_both_kinds_of_publisher_deliver_640x480_at_30_hz(publisher, publisher_profile, subscription):
    r = _bench().measure(publisher, (640, 480), 30.0, SECONDS, publisher_profile)
    assert r["published"] == 150, r  # the publisher matched the node's subscription (auto: within check_period_s)
    assert r["node_subscription"] == subscription, r
    assert r["delivered_pct"] >= 95.0, r


def test_auto_follows_the_publishers_reliability(tmp_path, monkeypatch):
    """A sensor-data publisher appears: the RELIABLE image subscription becomes BEST_EFFORT (and matches it); it
    goes and a RELIABLE one comes: back to RELIABLE."""
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path))
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=random.randint(1, 200))
    ex = SingleThreadedExecutor(context=ctx)
    node = TrackerNode("tracker", context=ctx, detector_factory=lambda c, m: FixedDetector([]),
                       parameter_overrides=[Parameter("qos.check_period_s", value=0.2)])
    driver = rclpy.create_node("camera_driver", context=ctx)
    topic = "/camera/color/image_raw"

    def subscription(reliability):
        end = time.monotonic() + 8
        while time.monotonic() < end:
            sub = next(s for s in node._subs if s.topic_name == topic)
            if sub.qos_profile.reliability == reliability:
                return sub
            ex.spin_once(timeout_sec=0.05)
        raise AssertionError(f"{topic} is still {sub.qos_profile.reliability.name}")
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        ex.add_node(node)
        ex.add_node(driver)
        assert subscription(ReliabilityPolicy.RELIABLE)  # no publisher yet
        pub = driver.create_publisher(Image, topic, qos_profile_sensor_data)
        sub = subscription(ReliabilityPolicy.BEST_EFFORT)
        assert len(node._subs) == 8 and sub.get_publisher_count() == 1
        driver.destroy_publisher(pub)
        driver.create_publisher(Image, topic, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        assert subscription(ReliabilityPolicy.RELIABLE)
        assert not node.qos_check.warned  # nothing incompatible was left to warn about
    finally:
        close_nodes(ex, ctx, node, driver)
