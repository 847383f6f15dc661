"""sensor_msgs/CompressedImage inputs (image_transport's compressed and compressedDepth transports).

- the ``inputs:`` YAML section and the subscriptions it gives (type, topic as image_transport names it);
- a bad compressed message is a per-input problem, the frame goes on without that input;
- acceptance: a simulated bag's frames through the node's decoding and the real pipeline (the default model,
  no oracle), once as the bag's raw Images and once JPEG/PNG/compressedDepth-compressed: the same tracks;
- over DDS: the node subscribed to compressed topics tracks, and reports a corrupt message.
"""
import logging
import random
import time

import numpy as np
import pytest
import yaml

rclpy = pytest.importorskip("rclpy")

from sensor_msgs.msg import CompressedImage, Image  # noqa: E402

from tracker.common.config import ConfigError, from_mapping, load_yaml  # noqa: E402
from tracker.data.encodings import image_to_numpy  # noqa: E402
from tracker.nodes import conversions as conv  # noqa: E402
from tracker.nodes.input_config import InputsSection  # noqa: E402
from tracker.nodes.inputs import decode_input, image_subscription, image_subscriptions  # noqa: E402

from nodes_support import FixedDetector, bag_messages, make_short_bag, close_nodes  # noqa: E402

CAMERAS = ("color", "thermal", "depth")
COMPRESSED = {"color": {"transport": "compressed"}, "thermal": {"transport": "compressed"},
              "depth": {"transport": "compressedDepth"}}


# --------------------------------------------------------------------------------------------- configuration
def test_inputs_section_in_the_node_yaml():
    """`inputs:` is a section of the node's YAML (NodeConfig.inputs) and drives the subscriptions."""
    from tracker.nodes.config import node_config_from_mapping
    data = load_yaml("config/tracker_node.yaml")
    cfg = node_config_from_mapping({**data, "inputs": COMPRESSED})
    subs = {s.camera: s for s in image_subscriptions(cfg, CAMERAS)}
    assert subs["color"].msg_type is CompressedImage and subs["color"].topic == "camera/color/image_raw/compressed"
    assert subs["depth"].topic == "camera/depth/image_raw/compressedDepth"
    raw = {s.camera: s for s in image_subscriptions(node_config_from_mapping(data), CAMERAS)}
    assert all(s.msg_type is Image and s.topic == cfg.topics.image(c) for c, s in raw.items())


def test_subscriptions_follow_image_transport_naming():
    inputs = from_mapping(InputsSection, {"color": {"transport": "compressed"},
                                          "thermal": {"transport": "compressed", "topic": "/flir/png"},
                                          "depth": {"transport": "compressedDepth"}}, "inputs")
    resolve = lambda t: "/robot" + t  # noqa: E731  (Node.resolve_topic_name: namespace, remapping)
    s = image_subscription("color", "/camera/color/image_raw", inputs, resolve)
    assert (s.msg_type, s.topic, s.transport) == (CompressedImage, "/robot/camera/color/image_raw/compressed",
                                                  "compressed")
    assert image_subscription("thermal", "/camera/thermal/image_raw", inputs, resolve).topic == "/flir/png"
    assert image_subscription("depth", "/d/", inputs, resolve).topic == "/robot/d/compressedDepth"
    raw = image_subscription("color", "/camera/color/image_raw", InputsSection(), resolve)
    assert (raw.msg_type, raw.topic) == (Image, "/camera/color/image_raw")  # create_subscription resolves it
    with pytest.raises(ConfigError, match="depth images only"):
        from_mapping(InputsSection, {"color": {"transport": "compressedDepth"}}, "inputs")
    with pytest.raises(ConfigError, match="transport"):
        from_mapping(InputsSection, {"color": {"transport": "theora"}}, "inputs")
    with pytest.raises(ConfigError, match="only a compressed transport takes a topic"):
        from_mapping(InputsSection, {"color": {"topic": "/x"}}, "inputs")


# ------------------------------------------------------------------------------------- bad compressed input
class _Outputs:
    def __init__(self):
        self.published = []

    def publish(self, res, rgb_msg, rgb, status, latency_ms):
        self.published.append(res)


def test_corrupt_compressed_thermal_is_a_per_input_problem_and_the_frame_goes_on():
    from tracker.common.geometry import CameraModel, Transform
    from tracker.core import Tracker, TrackerConfig
    from tracker.nodes.frames import FrameRunner, RateLimitedLog, Work
    from tracker.pipeline.health import HealthMonitor
    from tracker.pipeline.processor import Processor, ProcessorConfig
    from tracker.pipeline.sync import SyncSet
    tc = TrackerConfig()
    proc = Processor(ProcessorConfig(), FixedDetector([[10, 10, 40, 80]]), Tracker(tc), tc.class_names)
    for cam in CAMERAS:
        proc.set_camera(cam, CameraModel.from_fov(64, 48, 60, cam))
    proc.set_extrinsics({"thermal": Transform.identity(), "depth": Transform.identity()})
    health, outputs = HealthMonitor(CAMERAS), _Outputs()
    runner = FrameRunner(proc, health, outputs, RateLimitedLog(logging.getLogger("test")), lambda: False)
    st = conv.s_to_stamp(1.0)
    good = conv.array_to_compressed_image(np.full((48, 64, 3), 90, np.uint8), "rgb8", st, "color")
    bad = CompressedImage(format="mono16; png compressed ", data=b"\x89PNG\r\n\x1a\n truncated")
    depth = conv.array_to_compressed_image(np.full((48, 64), 4000, np.uint16), "16UC1", st, "depth",
                                           transport="compressedDepth")
    msgs = {"color": (good, 0.0), "thermal": (bad, 0.0), "depth": (depth, 0.0)}
    runner.run(Work(SyncSet(1.0, msgs, {c: 1.0 for c in CAMERAS}), proc.calibration.current))
    (res,) = outputs.published
    assert res.modalities == {"color", "depth"}
    assert "could not decode" in health.problems["thermal"][1]
    assert "color" not in health.problems and "depth" not in health.problems


# ------------------------------------------------------------------------- acceptance: raw vs compressed
@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    return make_short_bag(tmp_path_factory.mktemp("bag") / "short", duration_s=2.0)


def _frames(msgs, max_offset_s=0.05):
    """[(stamp, {camera: Image})] per RGB frame with the nearest thermal and depth images; camera_info; tf."""
    images = {c: [] for c in CAMERAS}
    infos, edges = {}, {}
    for topic, m in msgs:
        if topic == "/tf_static":
            edges.update(conv.tf_edges(m))
        elif topic.endswith("camera_info"):
            infos[topic.split("/")[2]] = conv.camera_info_to_model(m)
        else:
            images[topic.split("/")[2]].append((conv.stamp_to_s(m.header.stamp), m))
    frames = []
    for t, m in images["color"]:
        f = {"color": m}
        for cam in ("thermal", "depth"):
            ts, near = min(images[cam], key=lambda x: abs(x[0] - t))
            if abs(ts - t) <= max_offset_s:
                f[cam] = near
        frames.append((t, f))
    return frames, infos, edges


def _compressed(cam, m):
    """The message image_transport's publisher would send for the bag's raw Image ``m``: colour JPEG (quality
    95, its default), mono16 thermal PNG, depth compressedDepth with depth_max 60 m (the publisher's default of
    10 m would drop the far half of this scene's depth: set depth_max on a real compressedDepth publisher)."""
    arr = image_to_numpy(m.encoding, m.height, m.width, m.step, bytes(m.data))
    h = (m.header.stamp, m.header.frame_id)
    if cam == "color":
        return conv.array_to_compressed_image(arr, m.encoding, *h)
    if cam == "thermal":
        return conv.array_to_compressed_image(arr, m.encoding, *h, codec="png", png_level=1)
    return conv.array_to_compressed_image(arr, m.encoding, *h, transport="compressedDepth", depth_max_m=60.0,
                                          png_level=1)


def _track(frames, infos, edges, transform):
    """Per frame {track id: (box, position)} of the real pipeline (default config and model) on the frames
    decoded as the node decodes them."""
    from tracker.common.tf import extrinsics_from_edges
    from tracker.core import Tracker, TrackerConfig
    from tracker.network.factory import make_detector
    from tracker.nodes.config import load_node_config, resolve_model_path
    from tracker.pipeline.processor import FrameInput, Processor
    cfg = load_node_config("config/tracker_node.yaml")
    tc = TrackerConfig.from_mapping(cfg.tracker)
    det = make_detector(cfg.backend.options, cfg.backend.detector, resolve_model_path(cfg.backend.model))
    proc = Processor(cfg.processor, det, Tracker(tc), tc.class_names)
    for cam, model in infos.items():
        proc.set_camera(cam, model)
    ext = extrinsics_from_edges(edges, {c: m.frame_id for c, m in infos.items()})
    proc.set_extrinsics({k: v for k, v in ext.items() if k != "color"})
    out = []
    try:
        for t, f in frames:
            dec = {c: decode_input(c, transform(c, m)) for c, m in f.items()}
            th, th_enc = dec.get("thermal", (None, None))
            res = proc.process(FrameInput(t, dec["color"][0], th, th_enc, dec.get("depth", (None, None))[0]))
            out.append({tr.track_id: (np.asarray(tr.box, float), tr.position) for tr in res.published_tracks()})
    finally:
        det.close()
    return out


def test_compressed_inputs_give_the_same_tracks_as_raw(bag):
    frames, infos, edges = _frames(bag_messages(bag))
    assert set(infos) == set(CAMERAS) and len(frames) >= 25
    raw = _track(frames, infos, edges, lambda cam, m: m)
    comp = _track(frames, infos, edges, _compressed)
    assert sum(len(f) for f in raw) >= 40  # people are tracked: the comparison is not between empty outputs
    shifts = []
    for i, (a, b) in enumerate(zip(raw, comp)):
        assert sorted(a) == sorted(b), f"frame {i}: track ids {sorted(a)} raw, {sorted(b)} compressed"
        for tid in a:
            (box_a, pos_a), (box_b, pos_b) = a[tid], b[tid]
            shifts.append(np.abs(box_a - box_b).max())
            # JPEG noise moves a detection a little; a track's first frames follow its detections, later ones
            # are smoothed. Measured with the two-world default: median 0.18 px, at most 5.8 % of the box height
            # (4.4 px on a 75 px person, the frame after the track started)
            assert shifts[-1] <= max(1.0, 0.1 * (box_a[3] - box_a[1])), (i, tid, box_a, box_b)
            assert (pos_a is None) == (pos_b is None)
            if pos_a is not None and np.isfinite(pos_a).all():
                # the same shift in 3D: 5 cm, or 1 % of the range (6 cm at 9.3 m, that same frame)
                bound = max(0.05, 0.01 * np.linalg.norm(pos_a))
                assert np.linalg.norm(np.asarray(pos_a) - pos_b) <= bound, (i, tid, pos_a, pos_b)
    assert np.median(shifts) <= 0.5, np.median(shifts)


# ------------------------------------------------------------------------------------------- over DDS
W, H = 160, 120


def _info(t, frame):
    from sensor_msgs.msg import CameraInfo

    from tracker.common.geometry import CameraModel
    m = CameraInfo(width=W, height=H, distortion_model="plumb_bob")
    m.header.stamp, m.header.frame_id = conv.s_to_stamp(t), frame
    m.k = CameraModel.from_fov(W, H, 60, frame).K.reshape(-1).tolist()
    m.d = [0.0] * 5
    return m


def _node_config(tmp_path):
    data = yaml.safe_load(open("config/tracker_node.yaml"))
    data["inputs"] = COMPRESSED
    data.setdefault("sync", {}).update(calibration_wait_s=0.5)
    data.setdefault("diagnostics", {})["period_s"] = 0.2
    data.setdefault("node", {})["processing"] = "inline"
    data["fallback_extrinsics"] = {"thermal": {}, "depth": {}}
    p = tmp_path / "node.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def _spin(ex, seconds, until=lambda: False):
    stop = time.monotonic() + seconds
    while time.monotonic() < stop and not until():
        ex.spin_once(timeout_sec=0.01)


def _compressed_set(t: float, what: str) -> dict:
    """{camera: CompressedImage} of one set at ``t``; ``what`` = ok | corrupt_color | corrupt_depth."""
    rgb = np.full((H, W, 3), 90, np.uint8)
    c_msg = conv.array_to_compressed_image(rgb, "rgb8", conv.s_to_stamp(t), "color")
    if what == "corrupt_color":
        c_msg.data = bytes(c_msg.data)[:200]
    d_msg = conv.array_to_compressed_image(np.full((H, W), 5000, np.uint16), "16UC1", conv.s_to_stamp(t + 0.004),
                                           "depth", transport="compressedDepth", png_level=1)
    if what == "corrupt_depth":
        d_msg.data = bytes(d_msg.data)[:10]
    th = conv.array_to_compressed_image(np.full((H, W), 30000, np.uint16), "mono16", conv.s_to_stamp(t + 0.002),
                                        "thermal", codec="png", png_level=1)
    return {"color": c_msg, "thermal": th, "depth": d_msg}


def test_node_tracks_from_compressed_topics_and_reports_a_corrupt_message(tmp_path, monkeypatch):
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo
    from vision_msgs.msg import Detection3DArray

    from tracker.nodes.tracker_node import TrackerNode
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path))
    rel = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=random.randint(1, 200))
    ex = SingleThreadedExecutor(context=ctx)
    det = FixedDetector([[40, 30, 70, 100]])
    node = TrackerNode("tracker", context=ctx, detector_factory=lambda c, m: det,
                       parameter_overrides=[Parameter("config_file", value=str(_node_config(tmp_path)))])
    feeder = rclpy.create_node("camera_driver", context=ctx)
    tracks, diags = [], []
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        suffix = {"color": "compressed", "thermal": "compressed", "depth": "compressedDepth"}
        pub = {c: feeder.create_publisher(CompressedImage, f"/camera/{c}/image_raw/{suffix[c]}", rel)
               for c in CAMERAS}
        info = {c: feeder.create_publisher(CameraInfo, f"/camera/{c}/camera_info", rel) for c in CAMERAS}
        feeder.create_subscription(Detection3DArray, "/tracker/tracks", tracks.append, rel)
        feeder.create_subscription(DiagnosticArray, "/diagnostics", diags.append, 10)
        for n in (node, feeder):
            ex.add_node(n)
        _spin(ex, 10, lambda: all(p.get_subscription_count() for p in pub.values())
              and feeder.count_publishers("/tracker/tracks") > 0)
        plan = ["ok"] * 3 + ["corrupt_color", "corrupt_depth"] + ["ok"] * 2
        for k, what in enumerate(plan):
            t = 100.0 + 0.05 * k
            for c in CAMERAS:
                info[c].publish(_info(t, c))
            for c, msg in _compressed_set(t, what).items():
                pub[c].publish(msg)
            expected = sum(w != "corrupt_color" for w in plan[:k + 1])
            _spin(ex, 5.0, lambda: len(tracks) >= expected)
        _spin(ex, 1.0)
    finally:
        close_nodes(ex, ctx, node, feeder)
    assert len(tracks) == len(plan) - 1  # every frame but the one whose RGB could not be decoded
    assert len(tracks[-1].detections) == 1 and len(det.calls) == len(plan) - 1
    assert det.calls[3][3] is None and det.calls[2][3] == (H, W)  # the corrupt depth frame went on without depth
    texts = " | ".join(kv.value for m in diags for s in m.status for kv in s.values if kv.key == "recent_problems")
    assert "could not decode" in texts and "shorter than its 12-byte header" in texts
