"""TF target frames and ego-motion from TF, on a moving-camera world-A bag (odom -> colour optical frame on /tf).

Detections come from the ground-truth test double (tests/nodes_support.OracleDetector: the bag's 2D boxes, no
network), 3D from the bag's depth through the product pipeline (registration, depth3d), so the geometry is the
product's and the numbers do not depend on the model. Truth in odom = the bag's GT (colour optical frame of its
frame) mapped through the bag's /tf, which the first test checks against a person standing still."""
import random
import time
from collections import defaultdict
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from tracker.common.config import from_mapping
from tracker.common.geometry import CameraModel, Transform
from tracker.core import Tracker, TrackerConfig
from tracker.data.contract import DEFAULT_FRAMES, Topics
from tracker.data.messages import tf_transforms
from tracker.data.reader import BagReader
from tracker.nodes.config import load_node_config
from tracker.pipeline.ego import EgoMotionConfig
from tracker.pipeline.health import OK, WARN, HealthMonitor
from tracker.pipeline.processor import FrameInput, OutputConfig, Processor

from nodes_support import FixedDetector, OracleDetector, bag_messages, make_short_bag, close_nodes

CAM = DEFAULT_FRAMES["color"]
STANDING = "person_4"  # the one person of the scene standing still (world.n_standing, drawn last)
MIN_FRAMES_WITH_EGO = 5  # processed frames with TF ego-motion the node test needs, however loaded the machine
# a strong handheld shake (1.5 deg, fast) on a rig walking forward at 1 m/s and turning 10 deg/s: 3 s, 15 Hz
MOVING = {"rig": {"jitter_deg": 1.5, "jitter_corr_s": 0.1, "ego_speed_mps": 1.0, "ego_yaw_rate_dps": 10.0},
          "world": {"n_people": 4, "n_standing": 1}}


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    return make_short_bag(tmp_path_factory.mktemp("ego") / "moving", duration_s=3.0, seed=1, overrides=MOVING)


def _processor(detector, source="tf", target="odom", static=None):
    cfg = load_node_config("config/tracker_node.yaml")
    out = {"target_frame": target} | ({"T_target_color": static} if static else {})
    pc = replace(cfg.processor, ego_motion=EgoMotionConfig(source=source),
                 output=from_mapping(OutputConfig, out, where="output"))
    tc = TrackerConfig.from_mapping(cfg.tracker)
    return Processor(pc, detector, Tracker(tc), tc.class_names)


def _run_bag(bag, source):
    """Per GT id: the track ids in frame order, position errors in odom, speeds in odom; and the results."""
    proc = _processor(OracleDetector(bag), source)
    ids, errs, speeds, results = defaultdict(list), [], defaultdict(list), []
    with BagReader(bag) as r:
        for n, cam in r.cameras.items():
            proc.set_camera(n, cam)
        proc.set_extrinsics({k: v for k, v in r.extrinsics.items() if k != "color"})
        for topic, _, msg in r.messages([Topics.tf, Topics.tf_static]):
            proc.tf.add_transforms(tf_transforms(msg), static=topic == Topics.tf_static)
        for s in r.samples():
            res = proc.process(FrameInput(s.stamp, s.rgb, s.thermal, s.thermal_encoding, s.depth))
            results.append(res)
            gt = [g for g in s.gt2d if g.visibility >= 0.3]  # what the oracle detected, in its order
            g3 = {g.id: g for g in s.gt3d}
            T_odom_cam = proc.tf.lookup("odom", CAM, s.stamp)
            for t in res.published_tracks():
                if t.det_index < 0:
                    continue
                gid = gt[t.det_index].id
                ids[gid].append(t.track_id)
                if t.position is not None and gid in g3:
                    errs.append(np.linalg.norm(np.asarray(t.position) - T_odom_cam.apply(g3[gid].center)))
                    speeds[gid].append(float(np.linalg.norm(t.velocity)))
    return ids, errs, speeds, results


def _switches(ids) -> int:
    return sum(sum(a != b for a, b in zip(v, v[1:])) for v in ids.values())


def test_the_simulator_publishes_odom_to_camera_on_tf_for_a_moving_rig(bag, tmp_path):
    with BagReader(bag) as r:
        tf = [(s, msg) for _, s, msg in r.messages([Topics.tf])]
        samples = list(r.samples())
    edges = {(p, c) for _, msg in tf for p, c, _, _ in tf_transforms(msg)}
    assert edges == {("odom", CAM)}
    tf_stamps = {round(st, 6) for _, msg in tf for _, _, st, _ in tf_transforms(msg)}
    assert {round(s.stamp, 6) for s in samples} <= tf_stamps  # stamped with (at least) every colour image stamp
    assert len(tf_stamps) >= 2 * len(samples)  # faster than the camera: every frame of every camera
    # the standing person's GT box centre, mapped through /tf, stays put in odom while the camera moves
    proc = _processor(FixedDetector(np.zeros((0, 4))))
    for _, msg in tf:
        proc.tf.add_transforms(tf_transforms(msg))
    centres = [proc.tf.lookup("odom", CAM, s.stamp).apply(g.center) for s in samples for g in s.gt3d
               if g.id == STANDING]
    cam_path = [proc.tf.lookup("odom", CAM, s.stamp).t for s in samples]
    assert len(centres) >= 20
    assert np.ptp(np.asarray(centres), axis=0).max() < 0.01
    assert np.linalg.norm(cam_path[-1] - cam_path[0]) > 2.0  # the camera did move (1 m/s for 3 s)
    assert 2.0 < cam_path[0][2] < 2.4  # odom on the ground: the camera 2.2 m above it
    # a rig that does not move writes no /tf
    still = make_short_bag(tmp_path / "still", duration_s=0.3, seed=1)
    with BagReader(still) as r:
        assert Topics.tf not in r.topics_present and Topics.tf_static in r.topics_present


def test_looped_playback_shifts_the_tf_stamps_with_the_images(bag):
    """tracker-play --loop: the second loop's /tf stamps move with its images (a TFMessage has no header of its
    own: each transform's stamp is shifted), so the node's lookups at the new image stamps find them."""
    from tracker.data.bag import Bag
    from tracker.data.messages import header_stamp_ns
    from tracker.nodes.player import looped
    with Bag(bag) as b:
        msgs = list(looped(b, 2, Topics.color_image, topics=[Topics.tf, Topics.color_image]))
        first = {k: next(m for m in msgs if m.topic == Topics.tf and m.loop == k) for k in (0, 1)}
        rgb = {k: next(m for m in msgs if m.topic == Topics.color_image and m.loop == k) for k in (0, 1)}
        tf = {k: tf_transforms(b.typestore.deserialize_cdr(m.raw, m.msgtype))[0] for k, m in first.items()}
    shift_s = (header_stamp_ns(rgb[1].raw) - header_stamp_ns(rgb[0].raw)) / 1e9
    assert shift_s > 3.0
    assert tf[1][2] - tf[0][2] == pytest.approx(shift_s, abs=1e-6)
    assert tf[1][3].matrix() == pytest.approx(tf[0][3].matrix())  # the transform itself unchanged


def test_ego_motion_from_tf_keeps_ids_and_gives_positions_and_velocities_over_ground(bag):
    ids, errs, speeds, results = _run_bag(bag, "tf")
    ids0, errs0, speeds0, results0 = _run_bag(bag, "none")
    sw, sw0 = _switches(ids), _switches(ids0)
    print(f"identity switches: ego-motion from tf {sw}, without {sw0}; median position error in odom "
          f"{np.median(errs):.3f} m (without {np.median(errs0):.3f} m); standing person's median speed "
          f"{np.median(speeds[STANDING][5:]):.3f} m/s (without {np.median(speeds0[STANDING][5:]):.3f} m/s)")
    assert all(r.frame_id == "odom" and r.output.source == "tf" for r in results)
    assert [r.ego.source for r in results[1:]] == ["tf"] * (len(results) - 1) and results[0].ego.motion is None
    assert all(r.ego.source == "none" for r in results0)
    assert sw == 0 and sw0 > sw
    assert all(len(set(v)) == 1 for v in ids.values())
    assert len(errs) > 100 and np.median(errs) < 0.5
    st = speeds[STANDING][5:]  # after the velocity has settled
    assert len(st) >= 15 and np.median(st) < 0.3
    assert np.median(speeds0[STANDING][5:]) > 0.6  # without ego-motion it walks with the camera (~1 m/s)


def _still_frames(proc, stamps, depth_m=4.0):
    cam = CameraModel.from_fov(640, 480, 69, CAM)
    proc.set_camera("color", cam)
    proc.set_camera("depth", CameraModel.from_fov(640, 480, 69, "depth"))
    rgb, depth = np.zeros((480, 640, 3), np.uint8), np.full((480, 640), depth_m, np.float32)
    return [proc.process(FrameInput(t, rgb, depth=depth)) for t in stamps]


def test_missing_target_frame_and_extrapolation_are_reported_and_frames_still_published():
    box = [[300, 200, 340, 300]]
    # target frame unknown to TF, no static fallback: published in the RGB optical frame, with the problem
    proc = _processor(FixedDetector(box), source="auto", target="map")
    res = _still_frames(proc, [1.0, 1.1, 1.2])
    assert all(r.frame_id == CAM and r.output.source == "fallback" for r in res)
    assert "target frame 'map' not available" in res[-1].output.problem and "unknown" in res[-1].output.problem
    assert res[-1].published_tracks() and res[-1].published_tracks()[0].position[2] == pytest.approx(4.0, abs=0.3)
    assert res[-1].ego.source == "none" and not res[-1].ego.problem  # auto, no odometry: not a problem
    health = HealthMonitor(("color",))
    problems = health.transforms.frame(res[-1].ego, res[-1].output, now=10.0)
    st = health.report(now=10.0)[-1]
    assert [k for k, _ in problems] == ["target_frame"] and st.name == "transforms" and st.level == WARN
    assert "map" in st.message and st.values["frames_in_fallback_frame"] == "1"
    assert health.report(now=10.0 + health.config.problem_hold_s + 1)[-1].level == OK
    # no TF path but a static T_target_color in the YAML: that one, in the target frame
    proc = _processor(FixedDetector(box), target="base_link",
                      static={"translation": [0.0, 0.0, 1.5], "quaternion_xyzw": [0.5, -0.5, 0.5, -0.5]})
    r = _still_frames(proc, [1.0, 1.1, 1.2])[-1]
    assert r.frame_id == "base_link" and r.output.source == "static" and not r.output.problem
    assert r.published_tracks()[0].position == pytest.approx([4.0, 0.0, 1.5], abs=0.3)  # optical z -> base x
    # TF that ends before the frame: extrapolation, for ego-motion (source tf) and the target frame alike
    proc = _processor(FixedDetector(box), source="tf", target="odom")
    for k in range(5):
        proc.tf.add("odom", CAM, 0.9 + 0.05 * k, Transform(np.eye(3), np.array([0.05 * k, 0.0, 0.0])))
    res = _still_frames(proc, [1.0, 1.1, 1.5])
    assert res[1].ego.source == "tf" and res[1].frame_id == "odom"
    assert res[2].frame_id == CAM and res[2].output.source == "fallback"
    assert "into the future" in res[2].output.problem and "into the future" in res[2].ego.problem
    kinds = [k for k, _ in HealthMonitor(("color",)).transforms.frame(res[2].ego, res[2].output, now=1.0)]
    assert kinds == ["ego_motion", "target_frame"]


def test_frame_runner_logs_tf_problems_rate_limited_and_publishes_the_frame():
    from tracker.nodes.frames import FrameRunner, RateLimitedLog, Work
    from tracker.pipeline.sync import SyncSet
    warnings = []
    logger = SimpleNamespace(warning=warnings.append)
    published = []
    outputs = SimpleNamespace(publish=lambda res, *a: published.append(res.frame_id))
    proc = _processor(FixedDetector([[10, 10, 20, 30]]), source="auto", target="map")
    proc.set_camera("color", CameraModel.from_fov(64, 48, 69, CAM))
    health = HealthMonitor(("color",))
    runner = FrameRunner(proc, health, outputs, RateLimitedLog(logger, period_s=60.0), live_clock=lambda: False)
    for k in range(3):
        img = SimpleNamespace(encoding="rgb8", height=48, width=64, step=64 * 3, is_bigendian=0,
                              data=bytes(48 * 64 * 3), header=SimpleNamespace(frame_id=CAM))
        runner.run(Work(SyncSet(1.0 + k / 15, {"color": (img, time.monotonic())}, {}),
                        proc.calibration.current))
    assert published == [CAM] * 3  # never dropped
    assert len(warnings) == 1 and "target frame 'map' not available" in warnings[0]
    assert health.report(time.monotonic())[-1].level == WARN


def test_the_node_listens_to_tf_and_publishes_in_odom_with_the_ego_source_in_diagnostics(bag, tmp_path,
                                                                                          monkeypatch):
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from vision_msgs.msg import Detection3DArray

    from tracker.nodes.tracker_node import TrackerNode
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path))
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=random.randint(1, 200))
    det = OracleDetector(bag)
    node = TrackerNode("tracker", context=ctx, detector_factory=lambda c, m: det,
                       parameter_overrides=[Parameter("config_file", value="config/tracker_node.yaml"),
                                            Parameter("use_sim_time", value=True),
                                            Parameter("output.target_frame", value="odom")])
    sink = rclpy.create_node("sink", context=ctx)
    tracks, diags = [], []
    ex = SingleThreadedExecutor(context=ctx)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        tf_sub = next(s for s in node._subs if s.topic_name == "/tf")
        q = tf_sub.qos_profile
        assert (q.reliability, q.durability, q.depth) == (ReliabilityPolicy.RELIABLE, DurabilityPolicy.VOLATILE, 100)
        sink.create_subscription(Detection3DArray, "/tracker/tracks", tracks.append,
                                 QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        sink.create_subscription(DiagnosticArray, "/diagnostics", diags.append, 50)
        for n in (node, sink):
            ex.add_node(n)
        end = time.monotonic() + 10
        while time.monotonic() < end and sink.count_publishers("/tracker/tracks") == 0:
            ex.spin_once(timeout_sec=0.05)
        n_rgb = 0
        for topic, msg in bag_messages(bag):  # the node's callbacks in bag order, one RGB frame at a time
            cam = topic.split("/")[2] if topic.startswith("/camera/") else None
            if topic == Topics.tf:
                node._on_tf(msg)
            elif topic == Topics.tf_static:
                node._on_tf_static(msg)
            elif topic.endswith("camera_info"):
                node._on_info(cam, msg)
            elif topic.endswith("image_raw"):
                n_rgb += cam == "color"
                node._on_image(cam, msg)
                deadline = time.monotonic() + 2.0
                while cam == "color" and len(tracks) < n_rgb - 1 and time.monotonic() < deadline:
                    ex.spin_once(timeout_sec=0.01)
        end = time.monotonic() + 10
        while time.monotonic() < end and (len(tracks) < n_rgb or not diags):
            ex.spin_once(timeout_sec=0.02)
        node._publish_diagnostics()
        end = time.monotonic() + 2
        while time.monotonic() < end and not any(_transforms(d) for d in diags[-1:]):
            ex.spin_once(timeout_sec=0.02)
    finally:
        close_nodes(ex, ctx, node, sink)
    assert len(tracks) >= n_rgb - 1 and n_rgb >= 40
    assert {m.header.frame_id for m in tracks} == {"odom"}
    assert sum(len(m.detections) for m in tracks) > 50
    st = _transforms(diags[-1])
    assert st is not None and st.level == bytes([OK]), st
    values = {kv.key: kv.value for kv in st.values}
    assert values["ego_motion_source"] == "tf" and values["output_frame"] == "odom"
    # every frame the node processed after the first had its ego-motion from TF (under CPU load the node may
    # publish some frames unprocessed, late: those are not in "frames"; two test runs at once on 2 cores left
    # 15 of 44 processed), and there were some
    with_ego, frames = int(values["frames_with_ego_motion"]), int(values["frames"])
    assert "ego-motion: tf" in st.message and with_ego >= frames - 3 and with_ego >= MIN_FRAMES_WITH_EGO, values


def _transforms(diag):
    return next((s for s in diag.status if s.name.endswith(": transforms")), None)
