"""Two tracker nodes in namespaces robot1 and robot2 on one DDS domain keep their topics apart: each reads its
own namespace's camera topics (robot2 through a relative remap) and publishes /<ns>/tracker/..., carrying only
its own frames; /diagnostics and /tf_static stay shared (absolute). In the root namespace the node's names are
the contract's (what the player, recorder and tracker-eval use)."""
import random
import time

import numpy as np
import pytest
import rclpy
import yaml
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from vision_msgs.msg import Detection3DArray

from tracker.common.geometry import CameraModel
from tracker.data.contract import OutputTopics, Topics
from tracker.nodes.config import TopicsSection
from tracker.nodes.conversions import array_to_image, s_to_stamp
from tracker.nodes.runner import bring_up, create_node, node_descriptions

from nodes_support import FixedDetector, close_nodes

W, H = 160, 120
REL = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
FRAMES = 6
#: per namespace: first stamp (s), the launch arguments it gets, and the fully qualified RGB topic that results
ROBOTS = {"robot1": (100.0, {}, "/robot1/camera/color/image_raw"),
          "robot2": (300.0, {"color_image": "front/rgb"}, "/robot2/front/rgb")}


def test_default_names_resolve_to_the_contract_in_the_root_namespace():
    t = TopicsSection()
    assert t.resolved().inputs() == Topics().inputs()
    assert t.resolved().outputs() == OutputTopics().__dict__
    assert t.resolved("/").tf_static == Topics().tf_static
    r1 = t.resolved("robot1")
    assert (r1.color_image, r1.tracks, r1.debug_image) == (
        "/robot1/camera/color/image_raw", "/robot1/tracker/tracks", "/robot1/tracker/debug_image")
    assert (r1.tf_static, r1.diagnostics) == ("/tf_static", "/diagnostics")


@pytest.fixture
def cfg_file(tmp_path):
    data = yaml.safe_load(open("config/tracker_node.yaml"))
    data.setdefault("node", {}).update(rgb_only=True, processing="inline", debug_image=False, markers=False)
    data.setdefault("sync", {}).update(calibration_wait_s=0.5)
    p = tmp_path / "node.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def _info(t):
    cam = CameraModel.from_fov(W, H, 60, "rgb")
    m = CameraInfo(width=W, height=H, distortion_model="plumb_bob")
    m.header.stamp, m.header.frame_id = s_to_stamp(t), "rgb"
    m.k, m.d = cam.K.reshape(-1).tolist(), [0.0] * 5
    return m


def _spin_until(ex, done, timeout_s):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and not done():
        ex.spin_once(timeout_sec=0.02)


def test_two_namespaced_nodes_keep_their_topics_apart(cfg_file, tmp_path, monkeypatch):
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path))
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=random.randint(1, 200))
    ex = SingleThreadedExecutor(context=ctx)
    nodes = [create_node(node_descriptions({"config": str(cfg_file), "namespace": ns, **args})[0],
                         detector_factory=lambda c, m: FixedDetector([[40, 30, 70, 100]]), context=ctx)
             for ns, (_, args, _) in ROBOTS.items()]
    feeder = rclpy.create_node("feeder", context=ctx)
    got = {ns: [] for ns in (*ROBOTS, "")}
    try:
        assert all(bring_up(n) for n in nodes)
        pubs = {ns: (feeder.create_publisher(Image, topic, REL),
                     feeder.create_publisher(CameraInfo, f"/{ns}/camera/color/camera_info", REL))
                for ns, (_, _, topic) in ROBOTS.items()}
        for ns in got:  # "": the root namespace, where the tracks of a node without namespace would be
            feeder.create_subscription(Detection3DArray, "/" + "/".join(filter(None, (ns, "tracker/tracks"))),
                                       lambda m, ns=ns: got[ns].append(m.header.stamp.sec), REL)
        for n in (*nodes, feeder):
            ex.add_node(n)
        _spin_until(ex, lambda: all(p.get_subscription_count() >= 1 for pp in pubs.values() for p in pp)
                    and all(feeder.count_publishers(f"/{ns}/tracker/tracks") >= 1 for ns in ROBOTS), 10.0)
        rgb = np.full((H, W, 3), 90, np.uint8)
        for k in range(FRAMES):
            for ns, (t0, _, _) in ROBOTS.items():
                t = t0 + k
                pubs[ns][1].publish(_info(t))
                pubs[ns][0].publish(array_to_image(rgb, "rgb8", s_to_stamp(t), "rgb"))
            _spin_until(ex, lambda: all(len(got[ns]) > k for ns in ROBOTS), 5.0)
        _spin_until(ex, lambda: False, 0.3)  # stray messages, if any
        shared = (feeder.count_publishers("/diagnostics"), feeder.count_subscribers("/tf_static"))
        root_publishers = feeder.count_publishers("/tracker/tracks")
    finally:
        close_nodes(ex, ctx, *nodes, feeder)
    for ns, (t0, _, _) in ROBOTS.items():
        assert sorted(got[ns]) == [int(t0) + k for k in range(FRAMES)], (ns, got)
    assert got[""] == [] and root_publishers == 0
    assert shared == (2, 2)
