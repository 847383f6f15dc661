"""The ego-motion stage (tracker.pipeline.ego): the tf source, auto, and how an image-based source plugs in."""
import numpy as np
import pytest

from tracker.common.config import ConfigError, from_mapping
from tracker.common.geometry import CameraModel, Transform
from tracker.common.tf_buffer import TfBuffer
from tracker.core.registry import Entry, Registry
from tracker.pipeline.ego import (EGO_SOURCES, EgoMotion, EgoMotionConfig, FrameMotionSource)

CAM = CameraModel.from_fov(64, 48, 69, "cam")


def _pose(x):
    return Transform(np.eye(3), np.array([x, 0.0, 0.0]))


def test_tf_source_gives_the_motion_between_the_two_stamps():
    tf = TfBuffer()
    tf.set_static("base", "cam", Transform(np.eye(3), np.array([0.0, 0.0, 1.0])))
    for k in range(11):
        tf.add("odom", "base", k * 0.1, _pose(0.5 * k * 0.1))  # 0.5 m/s along x
    stage = EgoMotion(EgoMotionConfig(source="tf"), tf)
    first = stage.update(0.2, CAM)
    assert first.motion is None and first.status == "tf: first frame" and not first.problem
    r = stage.update(0.45, CAM)
    assert r.source == "tf" and np.allclose(r.motion.t, [0.125, 0, 0]) and r.status == "odom -> cam"
    far = stage.update(2.0, CAM)  # past the newest sample: explicit source, a problem
    assert far.motion is None and "into the future" in far.problem


def test_auto_without_odometry_is_none_and_not_a_problem_but_tf_is():
    tf = TfBuffer()
    auto = EgoMotion(EgoMotionConfig(), tf)
    explicit = EgoMotion(EgoMotionConfig(source="tf"), tf)
    for t in (1.0, 1.1):
        a, e = auto.update(t, CAM), explicit.update(t, CAM)
    assert a.source == "none" and not a.problem and "frame 'odom' is unknown" in a.status
    assert e.source == "none" and "frame 'odom' is unknown" in e.problem
    assert EgoMotion(EgoMotionConfig(source="none"), tf).update(1.0, CAM).source == "none"
    with pytest.raises(ConfigError, match="ego_motion.source = 'imu' is not one of"):
        from_mapping(EgoMotionConfig, {"source": "imu"}, where="ego_motion")


class _Estimator:
    """Stands in for tracker.pipeline.cmc.ImageMotion: T_prev_curr between its last two images."""

    def __init__(self):
        self.calls, self.last_status = [], ""

    def update(self, rgb, camera, exclude_boxes=None, depth=None):
        self.calls.append(exclude_boxes)
        self.last_status = "rotation from 120 features"
        return _pose(0.01) if len(self.calls) > 1 else None


def test_the_image_source_comes_after_tf_under_auto():
    est = _Estimator()  # a stand-in for tracker.pipeline.cmc.ImageMotion, in the registry under its name
    sources = Registry(EGO_SOURCES.kind, [EGO_SOURCES.get(n) for n in EGO_SOURCES.names() if n != "image"]
                       + [Entry("image", lambda cfg, tf: FrameMotionSource("image", est))])
    tf = TfBuffer()
    stage = EgoMotion(EgoMotionConfig(source="auto"), tf, sources=sources)
    assert [s.name for s in stage.sources] == ["tf", "image"]
    rgb, boxes = np.zeros((48, 64, 3), np.uint8), np.array([[1.0, 2.0, 3.0, 4.0]])
    assert stage.update(1.0, CAM, rgb, None, boxes).source == "none"
    r = stage.update(1.1, CAM, rgb, None, boxes)
    assert r.source == "image" and np.allclose(r.motion.t, [0.01, 0, 0]) and est.calls[-1] is boxes
    # odometry appears: tf wins and the image source is not asked; when tf goes again, the image source's first
    # answer spans more than the tracker's last interval and is dropped
    for k in range(5):
        tf.add("odom", "cam", 1.05 + 0.05 * k, _pose(0.0))
    assert stage.update(1.2, CAM, rgb).source == "tf"
    n = len(est.calls)
    assert stage.update(1.5, CAM, rgb).source == "none" and len(est.calls) == n + 1  # tf extrapolates
    assert stage.update(1.6, CAM, rgb).source == "image"
