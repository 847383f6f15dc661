"""Kalman invariants: symmetric PSD covariance over long runs, dt = 0 is a no-op, ego-motion semantics."""
import numpy as np

from tracker.common.geometry import Transform
from tracker.core import TrackerConfig
from tracker.core import kalman_filter as kf
from tracker.core.motion import ConstantVelocityBox3D


def _assert_psd(P, tol=1e-9):
    assert np.allclose(P, np.swapaxes(P, -1, -2), atol=0, rtol=0) or np.abs(P - np.swapaxes(P, -1, -2)).max() < tol
    eig = np.linalg.eigvalsh(P)
    assert eig.min() > -tol * max(1.0, np.abs(eig).max())


def test_covariance_stays_symmetric_psd_over_long_run():
    rng = np.random.default_rng(0)
    n, d = 5, 3
    x = np.zeros((n, 2 * d))
    P = np.tile(np.eye(2 * d), (n, 1, 1))
    q = rng.uniform(0.01, 5.0, (n, d))
    for step in range(3000):
        dt = float(rng.choice([0.0, 1e-4, 0.033, 0.1, 1.5]))
        x, P = kf.predict(x, P, dt, q)
        if step % 3:
            z = x[:, :d] + rng.normal(0, 0.1, (n, d))
            R = np.tile(np.eye(d) * rng.uniform(1e-4, 1.0), (n, 1, 1))
            x, P = kf.update(x, P, z, R)
        _assert_psd(P)
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(P))


def test_dt_zero_changes_nothing():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 8))
    A = rng.normal(size=(4, 8, 8))
    P = A @ np.swapaxes(A, 1, 2)
    x2, P2 = kf.predict(x, P, 0.0, np.ones((4, 4)))
    assert np.array_equal(x, x2) and np.array_equal(P, P2)
    model = ConstantVelocityBox3D(TrackerConfig())
    s = model.initiate(np.array([[10, 20, 50, 120.0]]), np.array([[1.0, 0.5, 6.0]]), np.array([0]))
    s2 = model.predict(s, 0.0, np.array([0]))
    for a, b in ((s.box_x, s2.box_x), (s.box_P, s2.box_P), (s.pos_x, s2.pos_x), (s.pos_P, s2.pos_P)):
        assert np.array_equal(a, b)


def test_update_pulls_toward_measurement_and_shrinks_covariance():
    x = np.zeros((1, 6))
    P = np.tile(np.eye(6) * 4.0, (1, 1, 1))
    x2, P2 = kf.update(x, P, np.array([[1.0, 2.0, 3.0]]), np.tile(np.eye(3), (1, 1, 1)))
    assert np.allclose(x2[0, :3], [0.8, 1.6, 2.4])
    assert np.all(np.diag(P2[0])[:3] < 4.0)


def test_ego_motion_keeps_static_point_static():
    """T_prev_curr: camera moved 1 m forward; a static point 5 m ahead is now 4 m ahead."""
    model = ConstantVelocityBox3D(TrackerConfig())
    s = model.initiate(np.array([[0, 0, 10, 10.0]]), np.array([[0.0, 0.0, 5.0]]), np.array([0]))
    yaw = np.deg2rad(10)
    R = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    T = Transform(R, np.array([0.0, 0.0, 1.0]))
    s2 = model.predict(s, 0.1, np.array([0]), ego=T)
    assert np.allclose(s2.pos_x[0, :3], T.inverse().apply(np.array([0.0, 0.0, 5.0])))
    _assert_psd(s2.pos_P)
