"""The interface packages: importable, and the vision_msgs build matches vision_msgs 4.x field for field
(type names and field order), so the wire types match real ROS 2 installs."""
import subprocess
import sys

import pytest

# vision_msgs 4.1.1 (ros2 branch): message -> [(field name, type)] in declaration order
VISION_MSGS_4 = {
    "Point2D": [("x", "double"), ("y", "double")],
    "Pose2D": [("position", "vision_msgs/Point2D"), ("theta", "double")],
    "BoundingBox2D": [("center", "vision_msgs/Pose2D"), ("size_x", "double"), ("size_y", "double")],
    "BoundingBox3D": [("center", "geometry_msgs/Pose"), ("size", "geometry_msgs/Vector3")],
    "ObjectHypothesis": [("class_id", "string"), ("score", "double")],
    "ObjectHypothesisWithPose": [("hypothesis", "vision_msgs/ObjectHypothesis"),
                                 ("pose", "geometry_msgs/PoseWithCovariance")],
    "Detection2D": [("header", "std_msgs/Header"), ("results", "sequence<vision_msgs/ObjectHypothesisWithPose>"),
                    ("bbox", "vision_msgs/BoundingBox2D"), ("id", "string")],
    "Detection2DArray": [("header", "std_msgs/Header"), ("detections", "sequence<vision_msgs/Detection2D>")],
    "Detection3D": [("header", "std_msgs/Header"), ("results", "sequence<vision_msgs/ObjectHypothesisWithPose>"),
                    ("bbox", "vision_msgs/BoundingBox3D"), ("id", "string")],
    "Detection3DArray": [("header", "std_msgs/Header"), ("detections", "sequence<vision_msgs/Detection3D>")],
}


@pytest.mark.parametrize("name", sorted(VISION_MSGS_4))
def test_vision_msgs_layout_matches_4x(name):
    import vision_msgs.msg as vm
    cls = getattr(vm, name)
    fields = list(cls.get_fields_and_field_types().items())
    assert fields == VISION_MSGS_4[name]
    # the ROS type name on the wire
    assert cls.__module__.startswith("vision_msgs.msg")
    assert cls._TYPE_SUPPORT is not None or hasattr(cls, "__import_type_support__")


def test_tf2_msgs_tfmessage_layout():
    from tf2_msgs.msg import TFMessage
    assert list(TFMessage.get_fields_and_field_types().items()) == [
        ("transforms", "sequence<geometry_msgs/TransformStamped>")]


def test_tracker_msgs_track_carries_what_planners_need():
    from tracker_msgs.msg import Track, TrackArray
    f = Track.get_fields_and_field_types()
    for key in ("id", "state", "class_id", "score", "position", "velocity", "covariance", "size", "bbox_2d",
                "age", "time_since_update", "hits", "seen_rgb", "seen_thermal", "seen_depth", "detection_index"):
        assert key in f, key
    assert f["covariance"] == "double[36]"
    assert (Track.STATE_TENTATIVE, Track.STATE_CONFIRMED, Track.STATE_LOST) == (0, 1, 2)
    assert TrackArray.get_fields_and_field_types()["tracks"] == "sequence<tracker_msgs/Track>"


def test_environment_imports_in_a_fresh_interpreter():
    code = "from vision_msgs.msg import Detection3DArray; import tracker_msgs.msg, tracker; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_algorithm_packages_import_without_rclpy():
    """Everything below the nodes imports without rclpy (tracker.tools sit above the nodes and use them)."""
    code = ("import sys, importlib, pkgutil, tracker\n"
            "names = [m.name for m in pkgutil.walk_packages(tracker.__path__, 'tracker.')\n"
            "         if not m.name.startswith(('tracker.nodes', 'tracker.tools'))\n"
            "         and not m.name.endswith('__main__')]\n"
            "for n in names: importlib.import_module(n)\n"
            "bad = [m for m in sys.modules if m == 'rclpy' or m.startswith('rclpy.')]\n"
            "print(len(names), bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    n, bad = out.stdout.strip().split(" ", 1)
    assert int(n) > 0 and bad == "[]"
