"""Lifecycle discipline: parameters declared on construction (the YAML's settings among them), everything built
on configure (which fails cleanly on a bad YAML or a missing model), subscriptions only while active."""
import pytest
import yaml

rclpy = pytest.importorskip("rclpy")

from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

from tracker.nodes.tracker_node import TrackerNode  # noqa: E402

from nodes_support import FixedDetector  # noqa: E402


def _node(ctx, cfg_path, factory=None, model=""):
    return TrackerNode("tracker", context=ctx, detector_factory=factory,
                       parameter_overrides=[Parameter("config_file", value=str(cfg_path)),
                                            Parameter("model_path", value=model)])


def test_parameters_declared_and_nothing_built_before_configure(ctx):
    n = TrackerNode("tracker", context=ctx)
    try:
        assert n.has_parameter("config_file") and n.has_parameter("model_path")
        assert n.processor is None and n.outputs is None and not n._subs
    finally:
        n.destroy_node()


def test_the_yaml_settings_are_parameters_from_construction_and_config_file_is_read_only(ctx):
    n = TrackerNode("tracker", context=ctx)
    try:
        yaml_high = yaml.safe_load(open("config/tracker_node.yaml"))["tracker"]["classes"]["person"]["high_score"]
        assert n.get_parameter("tracker.classes.person.high_score").value == yaml_high  # the YAML's, before configure
        assert n.get_parameter("sync.slop_s").value == 0.02  # the code default
        for name in ("config_file", "model_path", "sync.slop_s"):
            assert n.describe_parameter(name).read_only, name
        result = n.set_parameters([Parameter("config_file", value="other.yaml")])[0]
        assert not result.successful and "read-only" in result.reason
    finally:
        n.destroy_node()


def test_a_runtime_change_is_kept_across_a_reconfigure(ctx):
    n = _node(ctx, "config/tracker_node.yaml", factory=lambda c, m: FixedDetector([]))
    try:
        assert n.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert n.set_parameters([Parameter("tracker.classes.person.high_score", value=0.5)])[0].successful
        assert n.processor.tracker.config.classes["person"].high_score == 0.5
        assert n.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
        assert n.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert n.processor.tracker.config.classes["person"].high_score == 0.5
    finally:
        n.destroy_node()


def test_configure_fails_cleanly_on_missing_model(ctx, tmp_path):
    n = _node(ctx, "config/tracker_node.yaml", model=str(tmp_path / "nope.onnx"))
    try:
        assert n.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert n.processor is None
    finally:
        n.destroy_node()


def test_configure_fails_cleanly_on_bad_yaml(ctx, tmp_path):
    data = yaml.safe_load(open("config/tracker_node.yaml"))
    data.setdefault("sync", {})["slop_s"] = -1
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(data))
    n = _node(ctx, p, factory=lambda c, m: FixedDetector([]))
    try:
        assert n.trigger_configure() == TransitionCallbackReturn.FAILURE
    finally:
        n.destroy_node()


def test_configure_fails_when_the_model_classes_differ_from_the_tracker_config(ctx):
    det = FixedDetector([], class_names=("vehicle", "person"))  # the tracker config says person, vehicle
    n = _node(ctx, "config/tracker_node.yaml", factory=lambda c, m: det)
    try:
        assert n.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert n.processor is None and det.closed
    finally:
        n.destroy_node()


def test_cleanup_releases_the_detector(ctx):
    det = FixedDetector([])
    n = _node(ctx, "config/tracker_node.yaml", factory=lambda c, m: det)
    try:
        assert n.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert not det.closed
        assert n.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
        assert det.closed
    finally:
        n.destroy_node()


def test_subscribed_only_while_active(ctx):
    n = _node(ctx, "config/tracker_node.yaml", factory=lambda c, m: FixedDetector([]))
    try:
        assert n.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert n.processor is not None and not n._subs
        assert n.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert len(n._subs) == 8  # 3 images, 3 camera_info, tf_static, tf
        assert n.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert not n._subs
        assert n.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
        assert n.processor is None
    finally:
        n.destroy_node()


def test_a_model_trained_on_another_registration_is_run_but_named_in_the_log_and_diagnostics(ctx):
    """A model whose metadata says it was trained on thermal registered 12 m beyond the node's plane (the
    default): configure succeeds (the user may mean it), and the difference is stated."""
    from dataclasses import asdict, replace

    from tracker.pipeline.registration import RegistrationConfig

    node_m = RegistrationConfig().assumed_distance_m

    class FarTrained(FixedDetector):
        def describe(self):
            return replace(super().describe(),
                           trained_registration={**asdict(RegistrationConfig()), "assumed_distance_m": node_m + 12})
    same = FixedDetector([])
    for det, said in ((FarTrained([]), True), (same, False)):
        n = _node(ctx, "config/tracker_node.yaml", factory=lambda c, m, d=det: d)
        try:
            assert n.trigger_configure() == TransitionCallbackReturn.SUCCESS
            text = n.health.info.get("registration_mismatch", "")
            assert (f"assumed_distance_m {node_m + 12} (trained) vs {node_m} (node)" in text) is said, text
        finally:
            n.destroy_node()
