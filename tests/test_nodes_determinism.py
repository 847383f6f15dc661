"""A lockstep replay gives the same tracks every time, whatever order DDS delivers the messages in.

The same short bag is fed twice through the tracker node (processing: latest, the default, with its worker
thread; the ground-truth test double instead of the network), with two arrival orders that DDS produces in
practice: (a) bag order; (b) the first frames' camera_info lost (subscriptions matched late) and every image
handed over before its camera_info (one executor turn). The player's lockstep is emulated: the next RGB frame
is fed once the previous one's /tracker/tracks arrived, or after a timeout. Both runs must publish
identical /tracker/tracks (every field equal), one per RGB frame."""
import random
import time

import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from vision_msgs.msg import Detection3DArray  # noqa: E402

from tracker.nodes.tracker_node import TrackerNode  # noqa: E402

from nodes_support import OracleDetector, bag_messages, make_short_bag, close_nodes  # noqa: E402

LOCKSTEP_TIMEOUT_S = 2.0  # emulated player (its lockstep_timeout_s): longest wait for an output per RGB frame
LOST_INFO_FRAMES = 1  # run (b): camera_info of the first frame never arrives (published before discovery)


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    return make_short_bag(tmp_path_factory.mktemp("det") / "short", duration_s=1.5, seed=11)


def _frames(messages):
    """[[(topic, msg), ...] per RGB frame]: what the lockstep player publishes between two waits, i.e. each RGB
    image and the messages after it up to the next RGB image (the first chunk also has what precedes it)."""
    frames, cur = [], []
    for topic, msg in messages:
        if topic == "/camera/color/image_raw" and any(t == topic for t, _ in cur):
            frames.append(cur)
            cur = []
        cur.append((topic, msg))
    frames.append(cur)
    return frames


def _late_calibration(frames):
    """Run (b): no camera_info in the first frames; later ones arrive after the images of their frame."""
    out = []
    for k, frame in enumerate(frames):
        info = [(t, m) for t, m in frame if t.endswith("camera_info")]
        rest = [(t, m) for t, m in frame if not t.endswith("camera_info")]
        out.append(rest + (info if k >= LOST_INFO_FRAMES else []))
    return out


def _deliver(node, topic, msg):
    cam = topic.split("/")[2] if topic.startswith("/camera/") else None
    if topic == "/tf_static":
        node._on_tf_static(msg)
    elif topic.endswith("camera_info"):
        node._on_info(cam, msg)
    elif topic.endswith("image_raw"):
        node._on_image(cam, msg)


def _run(bag, frames) -> list[Detection3DArray]:
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=random.randint(1, 200))
    det = OracleDetector(bag)
    node = TrackerNode("tracker", context=ctx, detector_factory=lambda c, m: det,
                       parameter_overrides=[Parameter("config_file", value="config/tracker_node.yaml"),
                                            Parameter("use_sim_time", value=True)])
    sink = rclpy.create_node("sink", context=ctx)
    got = []
    ex = SingleThreadedExecutor(context=ctx)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        sink.create_subscription(Detection3DArray, "/tracker/tracks", got.append,
                                 QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        for n in (node, sink):
            ex.add_node(n)
        end = time.monotonic() + 10
        while time.monotonic() < end and sink.count_publishers("/tracker/tracks") == 0:
            ex.spin_once(timeout_sec=0.05)
        for k, frame in enumerate(frames):
            for topic, msg in frame:
                _deliver(node, topic, msg)
            deadline = time.monotonic() + LOCKSTEP_TIMEOUT_S
            while len(got) <= k and time.monotonic() < deadline:
                ex.spin_once(timeout_sec=0.01)
        deadline = time.monotonic() + 10
        while len(got) < len(frames) and time.monotonic() < deadline:
            ex.spin_once(timeout_sec=0.02)
        end = time.monotonic() + 0.3  # anything extra would show as a duplicate
        while time.monotonic() < end:
            ex.spin_once(timeout_sec=0.02)
    finally:
        close_nodes(ex, ctx, node, sink)
    return got


def test_same_bag_same_tracks_whatever_the_arrival_order(bag, tmp_path, monkeypatch):
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path))
    frames = _frames(bag_messages(bag))
    a = _run(bag, frames)
    b = _run(bag, _late_calibration(frames))
    assert len(a) == len(frames), "run (a): not one output per RGB frame"
    assert len(b) == len(frames), "run (b): not one output per RGB frame"
    first_diff = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), None)  # every field, exactly
    assert first_diff is None, f"tracks differ from frame {first_diff} on"
