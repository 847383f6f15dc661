"""Calibration snapshots and the gate that holds synchronised sets until the cameras in them are calibrated."""
import threading

import numpy as np
import pytest

from tracker.common.geometry import CameraModel, Transform
from tracker.pipeline.calibration import CalibrationGate, CalibrationStore
from tracker.pipeline.sync import SyncSet


def _set(stamp, *cams):
    return SyncSet(stamp=stamp, msgs={c: f"{c}@{stamp}" for c in cams}, stamps={c: stamp for c in cams})


def test_snapshots_are_immutable_and_versioned():
    store = CalibrationStore()
    first = store.current
    cam = CameraModel.from_fov(640, 480, 69, "rgb")
    assert store.set_camera("color", cam)
    assert not store.set_camera("color", CameraModel.from_fov(640, 480, 69, "rgb"))  # same model: no change
    second = store.current
    assert "color" not in first.cameras and second.cameras["color"] is cam
    assert second.version == first.version + 1
    with pytest.raises(TypeError):
        second.cameras["depth"] = cam  # read-only: only the store makes new snapshots
    ext = {"thermal": Transform.from_quat((0.05, 0, 0), (0, 0, 0, 1))}
    assert store.set_extrinsics(ext)
    assert not store.set_extrinsics({"thermal": Transform.from_quat((0.05, 0, 0), (0, 0, 0, 1))})
    assert store.current.version == second.version + 1 and "thermal" not in second.tf_extrinsics


def test_concurrent_writers_lose_no_update():
    store = CalibrationStore()
    cams = {n: CameraModel.from_fov(640, 480, 60 + i, n) for i, n in enumerate(("color", "thermal", "depth"))}
    threads = [threading.Thread(target=store.set_camera, args=(n, c)) for n, c in cams.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(store.current.cameras) == set(cams) and store.current.version == 3


def test_gate_holds_sets_in_order_until_their_cameras_are_calibrated():
    gate = CalibrationGate(wait_s=3.0)
    assert gate.push([_set(1.0, "color", "depth"), _set(1.1, "color")], frozenset(), now=0.0) == []
    assert gate.held == 2
    # RGB calibrated, depth not: the first set still waits, and the second stays behind it (order is kept)
    assert gate.poll(frozenset({"color"}), now=0.5) == []
    out = gate.poll(frozenset({"color", "depth"}), now=0.6)
    assert [s.stamp for s in out] == [1.0, 1.1] and gate.held == 0


def test_gate_waits_at_most_wait_s_once_per_camera():
    missing = []
    gate = CalibrationGate(wait_s=3.0, on_give_up=lambda cam, waited: missing.append((cam, waited)))
    rgb_only = frozenset({"color"})
    assert gate.push([_set(1.0, "color", "thermal")], rgb_only, now=10.0) == []
    assert gate.poll(rgb_only, now=12.9) == []
    assert [s.stamp for s in gate.poll(rgb_only, now=13.0)] == [1.0]
    assert missing == [("thermal", 3.0)] and gate.given_up == {"thermal"}
    # from now on thermal does not hold sets back; the wait is not repeated
    assert [s.stamp for s in gate.push([_set(1.1, "color", "thermal")], rgb_only, now=13.1)] == [1.1]
    assert len(missing) == 1


def test_sets_without_the_uncalibrated_camera_are_not_held():
    gate = CalibrationGate(wait_s=3.0)
    out = gate.push([_set(1.0, "color", "depth")], frozenset({"color", "depth"}), now=0.0)
    assert [s.stamp for s in out] == [1.0]


def test_processor_calibrated_needs_camera_info_and_extrinsics():
    from tracker.core import Tracker, TrackerConfig
    from tracker.nodes.config import load_node_config
    from tracker.pipeline.processor import Processor
    cfg = load_node_config("config/tracker_node.yaml")
    proc = Processor(cfg.processor, None, Tracker(TrackerConfig()), ("person", "vehicle"))
    assert proc.calibrated() == frozenset()
    proc.set_camera("color", CameraModel.from_fov(640, 480, 69, "rgb"))
    proc.set_camera("thermal", CameraModel.from_fov(640, 512, 50, "ir"))
    assert proc.calibrated() == {"color"}  # thermal: camera_info but no extrinsics yet
    proc.set_extrinsics({"thermal": Transform(np.eye(3), np.array([0.045, 0.0, 0.0]))})
    assert proc.calibrated() == {"color", "thermal"}
