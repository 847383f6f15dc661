import numpy as np
import pytest

from tracker.common.geometry import CameraModel, Transform, matrix_to_quat, quat_to_matrix


def test_transform_composition_and_inverse():
    a = Transform.from_quat([1, 2, 3], [0.1, 0.2, 0.3, 0.9])
    b = Transform.from_quat([-1, 0.5, 0], [0, 0, 0.38, 0.92])
    p = np.array([[0.3, -2.0, 5.0]])
    np.testing.assert_allclose((a @ b).apply(p), a.apply(b.apply(p)))
    np.testing.assert_allclose((a @ a.inverse()).matrix(), np.eye(4), atol=1e-12)


def test_quaternion_round_trip():
    rng = np.random.default_rng(0)
    for q in rng.normal(size=(20, 4)):
        R = quat_to_matrix(*q)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(quat_to_matrix(*matrix_to_quat(R)), R, atol=1e-12)
    with pytest.raises(ValueError):
        quat_to_matrix(0, 0, 0, 0)


def test_projection_round_trip_with_distortion():
    cam = CameraModel.from_fov(640, 480, 70)
    cam = CameraModel(640, 480, cam.K, np.array([-0.2, 0.05, 0.001, -0.002, 0.0]))
    pts = np.array([[0.5, -0.3, 4.0], [-1.0, 0.7, 3.0], [0.0, 0.0, 10.0]])
    uv, front = cam.project(pts)
    assert front.all()
    np.testing.assert_allclose(cam.backproject(uv, pts[:, 2]), pts, atol=1e-6)


def test_scaled_camera_projects_to_scaled_pixels():
    cam = CameraModel.from_fov(640, 480, 70)
    half = cam.scaled(0.5, 0.5)
    p = np.array([[0.4, 0.2, 3.0]])
    np.testing.assert_allclose(half.project(p)[0], cam.project(p)[0] * 0.5, atol=0.5)
