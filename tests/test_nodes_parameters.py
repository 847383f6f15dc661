"""The node's settings as ROS parameters, seen from a second node through the parameter services (as `ros2 param`
does): listed with descriptors and ranges, overrides (parameter_overrides, --params-file) winning over the YAML,
score thresholds changed at runtime without a reset, out-of-range and read-only changes refused with a reason."""
import numpy as np
import pytest
import yaml

rclpy = pytest.importorskip("rclpy")

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.parameter_client import AsyncParameterClient  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from tracker.core.types import Detections  # noqa: E402
from tracker.network.detector import DetectorConfig  # noqa: E402
from tracker.nodes.conversions import array_to_image  # noqa: E402
from tracker.nodes.frames import Work  # noqa: E402
from tracker.nodes.tracker_node import TrackerNode  # noqa: E402
from tracker.pipeline.processor import FrameInput  # noqa: E402
from tracker.pipeline.sync import SyncSet  # noqa: E402

from nodes_support import FixedDetector  # noqa: E402

CONFIG = "config/tracker_node.yaml"  # detector threshold 0.1; person thresholds below, both < 0.5
#: the YAML's person high_score (the default model's; the tests check that the YAML's value is the parameter's)
PERSON_HIGH = yaml.safe_load(open(CONFIG))["tracker"]["classes"]["person"]["high_score"]
BOX_A, BOX_B = (100, 100, 140, 220), (400, 120, 440, 240)


class ScoredDetector(FixedDetector):
    """FixedDetector with a chosen score and the product detector's score threshold (``config``)."""

    def __init__(self, boxes, score: float):
        super().__init__(boxes)
        self.score = score
        self.config = DetectorConfig()

    def detect(self, rgb, thermal, thermal_encoding, depth):
        d = super().detect(rgb, thermal, thermal_encoding, depth)
        keep = np.full(len(d), self.score) >= self.config.score_threshold
        return Detections(d.boxes[keep], np.full(int(keep.sum()), self.score), d.classes[keep])


class Remote:
    """A second node that reaches the tracker node's parameters through its services."""

    def __init__(self, ctx, target):
        self.ex = SingleThreadedExecutor(context=ctx)
        self.node = rclpy.create_node("param_client", context=ctx)
        self.target = target
        self.ex.add_node(target)
        self.ex.add_node(self.node)
        self.client = AsyncParameterClient(self.node, target.get_name())
        assert self.client.wait_for_services(timeout_sec=10.0)

    def call(self, future):
        self.ex.spin_until_future_complete(future, timeout_sec=10.0)
        assert future.done()
        return future.result()

    def set(self, name, value):
        return self.call(self.client.set_parameters([Parameter(name, value=value)])).results[0]

    def close(self):
        for n in (self.target, self.node):
            self.ex.remove_node(n)
        self.node.destroy_node()
        self.target.destroy_node()


def _node(ctx, detector, overrides=(), cli_args=None):
    return TrackerNode("tracker", context=ctx, detector_factory=lambda c, m: detector, cli_args=cli_args,
                       parameter_overrides=[Parameter("config_file", value=CONFIG), *overrides])


def _configured(ctx, detector, overrides=()):
    n = _node(ctx, detector, overrides)
    assert n.trigger_configure() == TransitionCallbackReturn.SUCCESS
    return n


def _frame(node, stamp):
    return node.processor.process(FrameInput(stamp, np.zeros((480, 640, 3), np.uint8)))


def test_listing_shows_the_settings_with_their_ranges(ctx):
    remote = Remote(ctx, _node(ctx, FixedDetector([])))
    try:
        names = remote.call(remote.client.list_parameters()).result.names
        for name in ("tracker.classes.person.high_score", "sync.slop_s", "sync.queue_size", "qos.inputs.depth",
                     "backend.detector.score_threshold", "node.debug_image", "topics.color_image"):
            assert name in names, name
        wanted = ["tracker.classes.person.high_score", "sync.slop_s", "sync.queue_size", "sync.timeout_s"]
        d = {x.name: x for x in remote.call(remote.client.describe_parameters(wanted)).descriptors}
        high = d["tracker.classes.person.high_score"]
        assert (high.floating_point_range[0].from_value, high.floating_point_range[0].to_value) == (0.0, 1.0)
        assert not high.read_only and "first (high) stage" in high.description
        slop = d["sync.slop_s"]
        assert slop.read_only and "unit: s" in slop.additional_constraints
        assert (slop.floating_point_range[0].from_value, slop.floating_point_range[0].to_value) == (0.0, 1.0)
        assert (d["sync.queue_size"].integer_range[0].from_value, d["sync.queue_size"].integer_range[0].to_value) \
            == (1, 1000)
        assert not d["sync.timeout_s"].floating_point_range and "> 0.0" in d["sync.timeout_s"].additional_constraints
        values = remote.call(remote.client.get_parameters(["tracker.classes.person.high_score", "sync.slop_s"]))
        assert [v.double_value for v in values.values] == [PERSON_HIGH, 0.02]  # the YAML's value, the code default
    finally:
        remote.close()


def test_overrides_and_a_ros_params_file_win_over_the_yaml(ctx, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("tracker:\n  ros__parameters:\n    sync:\n      slop_s: 0.03\n"
                      "    tracker:\n      classes:\n        vehicle:\n          high_score: 0.4\n")
    n = _node(ctx, FixedDetector([]), [Parameter("tracker.classes.person.new_track_score", value=0.7)],
              cli_args=["--ros-args", "--params-file", str(params)])
    try:
        assert n.get_parameter("sync.slop_s").value == 0.03
        assert n.trigger_configure() == TransitionCallbackReturn.SUCCESS
        classes = n.processor.tracker.config.classes
        assert n.cfg.sync.slop_s == 0.03 and n.sync.config.slop_s == 0.03
        assert classes["vehicle"].high_score == 0.4 and classes["person"].new_track_score == 0.7
        assert classes["person"].high_score == PERSON_HIGH  # the YAML where nothing overrides it
    finally:
        n.destroy_node()


@pytest.mark.parametrize("override, needle", [
    (Parameter("sync.slop_s", value=5.0), "sync.slop_s = 5.0 s is out of range: must be <= 1.0 s"),
    (Parameter("sync.slopp_s", value=0.1), "sync.slopp_s: unknown key in sync"),
])
def test_an_invalid_override_fails_configure_with_the_loaders_message(ctx, override, needle):
    n = _node(ctx, FixedDetector([]), [override])
    try:
        assert n.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert needle in n.params.error and n.processor is None
    finally:
        n.destroy_node()


def test_a_runtime_score_threshold_change_takes_effect_without_a_reset(ctx):
    det = ScoredDetector([BOX_A], score=0.5)  # above the YAML's person new_track_score
    remote = Remote(ctx, _configured(ctx, det))
    node = remote.target
    try:
        first = _frame(node, 1.0).tracks
        assert [t.track_id for t in first] == [1]
        assert remote.set("tracker.classes.person.new_track_score", 0.6).successful
        assert node.get_parameter("tracker.classes.person.new_track_score").value == 0.6
        det.boxes = np.asarray([BOX_A, BOX_B], float)
        kept = _frame(node, 1.1).tracks
        assert [t.track_id for t in kept] == [1]  # the track lives on; the new box (0.5 < 0.6) spawns nothing
        assert kept[0].hits == 2
        assert remote.set("tracker.classes.person.new_track_score", 0.45).successful  # below 0.5 again
        assert sorted(t.track_id for t in _frame(node, 1.2).tracks) == [1, 2]
    finally:
        remote.close()


def test_a_runtime_detector_threshold_change_reaches_the_detector(ctx):
    det = ScoredDetector([BOX_A], score=0.5)
    remote = Remote(ctx, _configured(ctx, det))
    try:
        assert len(_frame(remote.target, 1.0).detections) == 1
        assert remote.set("backend.detector.score_threshold", 0.6).successful
        assert det.config.score_threshold == 0.6
        assert len(_frame(remote.target, 1.1).detections) == 0
    finally:
        remote.close()


def test_out_of_range_inconsistent_and_read_only_changes_are_refused_with_a_reason(ctx):
    remote = Remote(ctx, _configured(ctx, FixedDetector([])))
    node = remote.target
    try:
        r = remote.set("tracker.classes.person.high_score", 1.5)
        assert not r.successful and "tracker.classes.person.high_score" in r.reason and "range" in r.reason
        r = remote.set("tracker.classes.person.low_score", 0.5)  # above its high_score: the loader's check
        assert not r.successful and f"low_score (0.5) must be <= high_score ({PERSON_HIGH})" in r.reason
        r = remote.set("sync.slop_s", 0.03)
        assert not r.successful and "read-only" in r.reason
        r = remote.set("backend.detector.score_threshold", 0.2)  # this test double has no threshold
        assert not r.successful and "no score threshold" in r.reason
        assert node.get_parameter("tracker.classes.person.low_score").value == 0.1
        assert node.processor.tracker.config.classes["person"].low_score == 0.1
        assert node.get_parameter("sync.slop_s").value == 0.02
    finally:
        remote.close()


def test_the_debug_image_is_switched_at_runtime_and_markers_cannot_be_created(ctx):
    remote = Remote(ctx, _configured(ctx, FixedDetector([BOX_A]), [Parameter("node.markers", value=False)]))
    node = remote.target
    got = []
    remote.node.create_subscription(Image, "/tracker/debug_image", got.append, 10)
    try:
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS

        def feed(stamp, wanted):
            rgb = array_to_image(np.zeros((480, 640, 3), np.uint8), "rgb8", rclpy.time.Time(seconds=stamp).to_msg(),
                                 "camera_color_optical_frame")
            node._run_frame(Work(SyncSet(stamp, {"color": (rgb, 0.0)}, {"color": stamp}),
                                 node.processor.calibration.current))
            for _ in range(40):
                if len(got) >= wanted:
                    break
                remote.ex.spin_once(timeout_sec=0.05)
        feed(1.0, 1)
        assert len(got) == 1
        assert remote.set("node.debug_image", False).successful
        feed(1.1, 2)
        assert len(got) == 1
        assert remote.set("node.debug_image", True).successful
        feed(1.2, 2)
        assert len(got) == 2
        r = remote.set("node.markers", True)  # no markers publisher was created on configure
        assert not r.successful and "reconfigure" in r.reason
    finally:
        node.trigger_deactivate()
        remote.close()
