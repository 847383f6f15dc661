"""The time-stamped transform buffer (tracker.common.tf_buffer): interpolation, chaining static and dynamic edges,
extrapolation and unknown-frame errors, the history bound, thread safety."""
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from tracker.common.geometry import Transform, quat_to_matrix
from tracker.common.tf_buffer import (TfBuffer, TfBufferConfig, TfError, TfExtrapolationError, TfLookupError,
                                      interpolate, slerp)
from tracker.sim.rig import rot_xyz


def _T(xyz, yaw_deg=0.0, roll_deg=0.0) -> Transform:
    return Transform(rot_xyz(np.deg2rad(roll_deg), 0.0, np.deg2rad(yaw_deg)), np.asarray(xyz, float))


def _close(A: Transform, B: Transform, atol=1e-9):
    np.testing.assert_allclose(A.matrix(), B.matrix(), atol=atol)


def test_interpolation_is_linear_in_translation_and_slerp_in_rotation():
    buf = TfBuffer()
    buf.add("odom", "base", 10.0, _T((0, 0, 0), yaw_deg=0))
    buf.add("odom", "base", 11.0, _T((2, -4, 1), yaw_deg=90))
    T = buf.lookup("odom", "base", 10.25)
    np.testing.assert_allclose(T.t, [0.5, -1.0, 0.25], atol=1e-12)
    _close(Transform(T.R, np.zeros(3)), _T((0, 0, 0), yaw_deg=22.5))  # a quarter of the angle, not of the matrix
    _close(buf.lookup("odom", "base", 11.0), _T((2, -4, 1), yaw_deg=90))  # a sample itself
    # inverse direction: T_base_odom
    _close(buf.lookup("base", "odom", 10.25), T.inverse())
    # slerp takes the short way round and stays a unit quaternion
    q = slerp((0, 0, 0.999, 0.0447), (0, 0, -0.999, 0.0447), 0.5)
    assert np.linalg.norm(q) == pytest.approx(1.0)
    _close(interpolate(_T((0, 0, 0), 170), _T((0, 0, 0), -170), 0.5), _T((0, 0, 0), 180), atol=1e-9)


def test_chaining_static_and_dynamic_edges_in_either_direction():
    buf = TfBuffer()
    base_cam = _T((0.2, 0.0, 1.0), yaw_deg=-90, roll_deg=-90)
    buf.set_static("base_link", "camera_link", base_cam)
    buf.set_static("camera_color_optical_frame", "camera_thermal_optical_frame", _T((0.05, 0, 0)))
    buf.set_static("camera_link", "camera_color_optical_frame", _T((0, 0.01, 0)))
    buf.add("/odom", "base_link", 1.0, _T((0, 0, 0)))
    buf.add("odom", "base_link", 2.0, _T((1, 0, 0), yaw_deg=10))
    got = buf.lookup("odom", "camera_thermal_optical_frame", 1.5)
    want = _T((0.5, 0, 0), yaw_deg=5) @ base_cam @ _T((0, 0.01, 0)) @ _T((0.05, 0, 0))
    _close(got, want)
    _close(buf.lookup("camera_thermal_optical_frame", "odom", 1.5), want.inverse())
    # only static edges on the chain: any stamp works
    _close(buf.lookup("base_link", "camera_color_optical_frame", 1e9), base_cam @ _T((0, 0.01, 0)))
    assert buf.lookup("odom", "odom", 123.0).t.tolist() == [0, 0, 0]
    assert buf.can_transform("odom", "camera_link", 1.2) and not buf.can_transform("odom", "camera_link", 5.0)


def test_extrapolation_is_an_error_that_says_how_far_and_which_edge():
    buf = TfBuffer(TfBufferConfig(extrapolation_tolerance_s=0.01))
    buf.set_static("base", "cam", _T((0, 0, 1)))
    for k in range(11):
        buf.add("odom", "base", 100.0 + 0.1 * k, _T((0.1 * k, 0, 0)))
    with pytest.raises(TfExtrapolationError) as e:
        buf.lookup("odom", "cam", 101.25)
    err = e.value
    assert err.future and err.edge == ("odom", "base") and err.by_s == pytest.approx(0.25)
    assert "250 ms into the future" in str(err) and "odom -> base" in str(err) and "101.000" in str(err)
    with pytest.raises(TfExtrapolationError) as e:
        buf.lookup("cam", "odom", 99.5)
    assert not e.value.future and "500 ms into the past" in str(e.value)
    assert isinstance(e.value, TfError) and isinstance(e.value, LookupError)
    # within the tolerance: the end sample as it is
    _close(buf.lookup("odom", "base", 101.005), _T((1.0, 0, 0)))
    _close(buf.lookup("odom", "base", 99.995), _T((0.0, 0, 0)))


def test_unknown_frame_and_no_path_are_lookup_errors_naming_the_frames():
    buf = TfBuffer()
    buf.set_static("base_link", "camera", _T((0, 0, 1)))
    buf.add("map", "odom", 1.0, _T((0, 0, 0)))
    with pytest.raises(TfLookupError, match=r"frame 'odomm' is unknown .*frames known: base_link, camera, map, odom"):
        buf.lookup("odomm", "camera", 1.0)
    with pytest.raises(TfLookupError, match=r"no chain .*'odom' is connected to: map; 'camera' to: base_link"):
        buf.lookup("odom", "camera", 1.0)
    assert not issubclass(TfLookupError, TfExtrapolationError) and not issubclass(TfExtrapolationError, TfLookupError)
    # an edge added later connects them (the cached search is invalidated)
    buf.set_static("odom", "base_link", _T((1, 0, 0)))
    np.testing.assert_allclose(buf.lookup("odom", "camera", 1.0).t, [1, 0, 1])


def test_history_is_bounded_by_cache_s_and_a_jump_back_restarts_the_edge():
    buf = TfBuffer(TfBufferConfig(cache_s=2.0, extrapolation_tolerance_s=0.0))
    for k in range(100):  # 10 s at 10 Hz
        buf.add("odom", "cam", 50.0 + 0.1 * k, _T((k, 0, 0)))
    stamps = buf.history("odom", "cam")
    assert stamps[-1] == pytest.approx(59.9) and stamps[0] >= 59.9 - 2.0 - 1e-9 and len(stamps) <= 21
    with pytest.raises(TfExtrapolationError, match="into the past"):
        buf.lookup("odom", "cam", 55.0)
    buf.add("odom", "cam", 59.55, _T((-1, 0, 0)))  # late but inside the window: kept, in order
    assert buf.history("odom", "cam")[-2:] == pytest.approx([59.8, 59.9])
    np.testing.assert_allclose(buf.lookup("odom", "cam", 59.55).t, [-1, 0, 0])
    buf.add("odom", "cam", 10.0, _T((7, 0, 0)))  # far older than the window: the bag started again
    assert buf.history("odom", "cam") == [10.0] and buf.newest("odom", "cam") == 10.0


def test_tf_messages_are_decoded_with_their_stamps():
    from tracker.data.messages import tf_edges, tf_transforms

    def ts(parent, child, sec, nsec, x, q):
        return SimpleNamespace(header=SimpleNamespace(frame_id=parent, stamp=SimpleNamespace(sec=sec, nanosec=nsec)),
                               child_frame_id=child, transform=SimpleNamespace(
                                   translation=SimpleNamespace(x=x, y=0.0, z=0.0),
                                   rotation=SimpleNamespace(x=q[0], y=q[1], z=q[2], w=q[3])))
    msg = SimpleNamespace(transforms=[ts("/odom", "cam", 12, 500_000_000, 1.0, (0, 0, 0, 1)),
                                      ts("odom", "bad", 12, 0, 1.0, (0, 0, 0, 0)),
                                      ts("odom", "cam", 13, 0, 2.0, (0, 0, 0, 2))])
    items = tf_transforms(msg)
    assert [(p, c, s) for p, c, s, _ in items] == [("odom", "cam", 12.5), ("odom", "cam", 13.0)]
    buf = TfBuffer()
    buf.add_transforms(items)
    np.testing.assert_allclose(buf.lookup("odom", "cam", 12.75).t, [1.5, 0, 0])
    np.testing.assert_allclose(buf.lookup("odom", "cam", 12.75).R, quat_to_matrix(0, 0, 0, 1))
    assert list(tf_edges(msg)) == [("odom", "cam")]


def test_writer_and_reader_threads():
    """The DDS thread writes while the worker looks up: no lookup ever sees a half-written edge."""
    buf = TfBuffer(TfBufferConfig(cache_s=1.0, extrapolation_tolerance_s=0.0))
    buf.add("odom", "cam", 0.0, _T((0, 0, 0)))
    stop = threading.Event()
    errors = []

    def write():
        k = 1
        while not stop.is_set():
            buf.add("odom", "cam", k * 0.001, _T((k * 0.001, 0, 0)))
            k += 1

    th = threading.Thread(target=write)
    th.start()
    try:
        for _ in range(2000):
            newest = buf.newest("odom", "cam")
            try:
                t = buf.lookup("odom", "cam", newest)
                if abs(t.t[0] - newest) > 1e-9:
                    errors.append((newest, t.t[0]))
            except TfExtrapolationError:
                pass  # the window moved on in between: allowed, never a wrong transform
    finally:
        stop.set()
        th.join()
    assert not errors
