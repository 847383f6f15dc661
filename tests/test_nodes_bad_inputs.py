"""The tracker node over DDS (in this process) fed bad inputs: wrong encoding, size mismatch, zero/NaN depth,
missing camera_info, RGB stamps going backwards, invalid camera_info. Each is logged and shows in /diagnostics;
the node keeps publishing."""
import random
import time

import numpy as np
import pytest
import yaml

rclpy = pytest.importorskip("rclpy")

from builtin_interfaces.msg import Time  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from vision_msgs.msg import Detection3DArray  # noqa: E402

from tracker.common.geometry import CameraModel  # noqa: E402
from tracker.nodes.tracker_node import TrackerNode  # noqa: E402

from nodes_support import FixedDetector, close_nodes  # noqa: E402

W, H = 160, 120
REL = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def _stamp(t):
    return Time(sec=int(t), nanosec=int(round((t - int(t)) * 1e9)))


def _image(t, frame, enc, arr=None, data=None, w=W, h=H):
    m = Image(height=h, width=w, encoding=enc, is_bigendian=0)
    m.header.stamp, m.header.frame_id = _stamp(t), frame
    a = np.ascontiguousarray(arr)
    m.step = w * a.itemsize * (a.shape[2] if a.ndim == 3 else 1)
    m.data = data if data is not None else a.tobytes()
    return m


def _info(t, frame, k=None):
    cam = CameraModel.from_fov(W, H, 60, frame)
    m = CameraInfo(width=W, height=H, distortion_model="plumb_bob")
    m.header.stamp, m.header.frame_id = _stamp(t), frame
    m.k = (k if k is not None else cam.K.reshape(-1)).tolist()
    m.d = [0.0] * 5
    return m


@pytest.fixture
def cfg_file(tmp_path):
    data = yaml.safe_load(open("config/tracker_node.yaml"))
    data.setdefault("sync", {}).update(timeout_s=0.3, calibration_wait_s=0.5)  # thermal never sends camera_info
    data.setdefault("diagnostics", {})["period_s"] = 0.2
    # every set processed in its callback: counts are exact under load
    data.setdefault("node", {})["processing"] = "inline"
    p = tmp_path / "node.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def _spin_while(ex, cond, seconds: float) -> None:
    stop = time.monotonic() + seconds
    while time.monotonic() < stop and cond():
        ex.spin_once(timeout_sec=0.01)


def _bad_frame(t: float, what: str) -> tuple:
    """RGB, thermal and depth Image messages of one set, broken as ``what`` says (or all fine: "ok")."""
    rgb = np.full((H, W, 3), 90, np.uint8)
    depth_mm = np.full((H, W), 5000, np.uint16)
    c = _image(t, "rgb", "rgb8", rgb)
    if what == "rgb_truncated":
        c.data = rgb.tobytes()[:1000]
    thermal = _image(t + 0.003, "ir", "mono16", np.full((H, W), 30000, np.uint16))
    if what == "thermal_encoding":
        thermal.encoding = "yuv422"  # a colour encoding: not one a thermal camera may use
    d = _image(t + 0.006, "depth", "16UC1", depth_mm)
    if what == "depth_size":
        d = _image(t + 0.006, "depth", "16UC1", depth_mm[:60, :80], w=80, h=60)
    elif what == "depth_zero":
        d = _image(t + 0.006, "depth", "16UC1", np.zeros_like(depth_mm))
    elif what == "depth_nan":
        d = _image(t + 0.006, "depth", "32FC1", np.full((H, W), np.nan, np.float32))
    return c, thermal, d


def test_bad_inputs_are_reported_and_node_keeps_running(cfg_file, tmp_path, monkeypatch):
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path))
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=random.randint(1, 200))
    ex = SingleThreadedExecutor(context=ctx)
    det = FixedDetector([[40, 30, 70, 100]])
    node = TrackerNode("tracker", context=ctx, detector_factory=lambda c, m: det,
                       parameter_overrides=[Parameter("config_file", value=str(cfg_file))])
    feeder = rclpy.create_node("feeder", context=ctx)
    tracks, diags = [], []
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        pub = {n: feeder.create_publisher(Image, f"/camera/{n}/image_raw", REL) for n in ("color", "thermal", "depth")}
        info = {n: feeder.create_publisher(CameraInfo, f"/camera/{n}/camera_info", REL) for n in ("color", "depth")}
        feeder.create_subscription(Detection3DArray, "/tracker/tracks", lambda m: tracks.append(m), REL)
        feeder.create_subscription(DiagnosticArray, "/diagnostics", lambda m: diags.append(m), 10)
        for n in (node, feeder):
            ex.add_node(n)
        end = time.monotonic() + 10
        while time.monotonic() < end and (pub["color"].get_subscription_count() == 0
                                           or feeder.count_publishers("/tracker/tracks") == 0):
            ex.spin_once(timeout_sec=0.05)
        plan = ["ok"] * 4 + ["thermal_encoding", "depth_size", "depth_zero", "depth_nan", "rgb_truncated",
                             "rgb_backwards", "bad_info"] + ["ok"] * 4
        t = 100.0
        sent_ok = 0
        for k, what in enumerate(plan):
            t = t + 0.05 if what != "rgb_backwards" else t - 0.02
            info["color"].publish(_info(t, "rgb") if what != "bad_info" else _info(t, "rgb", k=np.zeros(9)))
            info["depth"].publish(_info(t, "depth"))
            for cam, msg in zip(("color", "thermal", "depth"), _bad_frame(t, what)):
                pub[cam].publish(msg)
            sent_ok += what in ("ok", "bad_info", "thermal_encoding", "depth_size", "depth_zero", "depth_nan")
            # wait (bounded) until this frame's output arrived, then a little more for stray messages
            _spin_while(ex, lambda: len(tracks) < sent_ok, 5.0)
            _spin_while(ex, lambda: True, 0.1)
            if what == "rgb_backwards":
                t += 0.02
        _spin_while(ex, lambda: True, 1.0)
    finally:
        close_nodes(ex, ctx, node, feeder)
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in tracks]
    # every processable frame produced exactly one output; the truncated and the backwards RGB produced none
    assert len(stamps) == len(set(stamps)) == sent_ok, (len(stamps), sent_ok)
    assert len(tracks[-1].detections) == 1  # still tracking after all of it
    last = {s.name.split(": ", 1)[1]: {kv.key: kv.value for kv in s.values} | {"_level": s.level}
            for s in diags[-1].status}
    assert int(last["input thermal"]["bad_messages"]) >= 2  # wrong encoding + no camera_info
    assert int(last["input depth"]["bad_messages"]) >= 3  # size, zero, NaN
    assert int(last["input color"]["bad_messages"]) >= 3  # truncated, backwards, invalid camera_info
    texts = " | ".join(kv.value for m in diags for s in m.status for kv in s.values if kv.key == "recent_problems")
    for needle in ("yuv422", "camera_info", "no valid reading", "expected", "not after"):
        assert needle in texts, needle
    assert any(s.level != b"\x00" for m in diags for s in m.status if s.name.endswith("input depth"))


def test_incompatible_publisher_qos_is_warned(cfg_file, tmp_path, monkeypatch):
    """A sensor-data (BEST_EFFORT) camera publisher cannot match our RELIABLE input subscription: the node says so."""
    from rclpy.qos import qos_profile_sensor_data
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path))
    data = yaml.safe_load(open(cfg_file))
    data.setdefault("qos", {}).update(check_period_s=0.2, inputs={"reliability": "reliable"})
    cfg_file.write_text(yaml.safe_dump(data))
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=random.randint(1, 200))
    ex = SingleThreadedExecutor(context=ctx)
    node = TrackerNode("tracker", context=ctx, detector_factory=lambda c, m: FixedDetector([]),
                       parameter_overrides=[Parameter("config_file", value=str(cfg_file))])
    feeder = rclpy.create_node("camera_driver", context=ctx)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        feeder.create_publisher(Image, "/camera/color/image_raw", qos_profile_sensor_data)
        ex.add_node(node)
        ex.add_node(feeder)
        end = time.monotonic() + 8
        while time.monotonic() < end and "color" not in node.health.problems:
            ex.spin_once(timeout_sec=0.05)
        assert "QoS incompatible" in node.health.problems["color"][1]
        assert any(topic == "/camera/color/image_raw" and "camera_driver" in pubs[0]
                   for topic, pubs in node.qos_check.warned)
    finally:
        close_nodes(ex, ctx, node, feeder)
