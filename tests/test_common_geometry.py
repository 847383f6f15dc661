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


# --------------------------------------------------------------------------------- camera_info distortion models
K_WIDE = np.array([[420.0, 0, 331.5], [0, 425.0, 236.0], [0, 0, 1]])
#: coefficients of the kind real cameras have (strong enough that ignoring them moves the corners by many px)
DISTORTIONS = {
    "plumb_bob": [-0.28, 0.09, 0.0012, -0.0008, -0.012],
    "rational_polynomial": [0.45, -0.08, 0.0011, -0.0006, 0.01, 0.8, 0.02, 0.005],
    "equidistant": [-0.02, 0.012, -0.006, 0.001],
}


def _opencv_project(model, D, pts):
    """Pixels of camera-frame points by OpenCV (the reference of every model)."""
    import cv2
    obj = np.ascontiguousarray(pts, dtype=np.float64).reshape(-1, 1, 3)
    if model == "equidistant":
        uv, _ = cv2.fisheye.projectPoints(obj, np.zeros((3, 1)), np.zeros((3, 1)), K_WIDE, np.asarray(D, float))
    else:
        uv, _ = cv2.projectPoints(obj, np.zeros(3), np.zeros(3), K_WIDE, np.asarray(D, float))
    return uv.reshape(-1, 2)


def _grid_points(depth=4.0):
    """Points on a plane whose rays cover the image to its corners (normalised coordinates up to 0.8 x 0.58)."""
    x, y = np.meshgrid(np.linspace(-0.8, 0.8, 17), np.linspace(-0.58, 0.58, 13))
    return np.stack([x.ravel() * depth, y.ravel() * depth, np.full(x.size, depth)], axis=1)


@pytest.mark.parametrize("model", sorted(DISTORTIONS))
def test_distortion_models_match_opencv_both_ways(model):
    """Forward: our projection equals OpenCV's. Backward: a pixel OpenCV projected with distortion is lifted by
    our model to the ray it came from, within 0.5 px (measured as pixels of the ideal pinhole image)."""
    cam = CameraModel(640, 480, K_WIDE, np.array(DISTORTIONS[model]), "cam", model)
    pts = _grid_points()
    ref = _opencv_project(model, DISTORTIONS[model], pts)
    uv, front = cam.project(pts)
    assert front.all()
    np.testing.assert_allclose(uv, ref, atol=1e-6)
    pinhole = CameraModel(640, 480, K_WIDE)
    assert np.abs(pinhole.project(pts)[0] - ref).max() > 20  # the distortion matters at the corners
    back = cam.backproject(ref, pts[:, 2])
    err_px = np.abs((back[:, :2] - pts[:, :2]) / pts[:, 2:3]) * [K_WIDE[0, 0], K_WIDE[1, 1]]
    assert err_px.max() <= 0.5, err_px.max()
    rays = cam.pixel_rays()
    u, v = 600, 40
    np.testing.assert_allclose(rays[v, u], cam.undistort_normalized(np.array([[u, v]], float))[0])
    np.testing.assert_allclose(cam.project(np.array([[*rays[v, u], 1.0]]))[0][0], [u, v], atol=1e-3)


def test_float32_projection_keeps_its_dtype_with_every_model():
    for model, D in DISTORTIONS.items():
        cam = CameraModel(640, 480, K_WIDE, np.array(D), "", model)
        x = np.full((2, 3), 0.5, np.float32)
        u, v, front = cam.project_xyz(x, -x, np.full_like(x, 2.0))
        assert u.dtype == np.float32 and v.dtype == np.float32 and front.all()


def test_distortion_model_validation():
    with pytest.raises(ValueError, match="unsupported distortion model 'kannala_brandt'.*plumb_bob"):
        CameraModel(640, 480, K_WIDE, np.zeros(4), "", "kannala_brandt")
    with pytest.raises(ValueError, match="plumb_bob has 5 coefficients"):
        CameraModel(640, 480, K_WIDE, np.array(DISTORTIONS["rational_polynomial"]), "", "plumb_bob")
    with pytest.raises(ValueError, match="unsupported distortion model ''"):
        CameraModel(640, 480, K_WIDE, np.array([0.1, 0, 0, 0, 0]), "", "")
    short = CameraModel(640, 480, K_WIDE, np.array([-0.1, 0.01]), "", "rational_polynomial")
    assert short.D.tolist() == [-0.1, 0.01, 0, 0, 0, 0, 0, 0]
    none = CameraModel(640, 480, K_WIDE, np.zeros(0), "", "")  # an uncalibrated driver: no model, no D
    assert none.distortion_model == "plumb_bob" and not none.has_distortion
    fish = CameraModel(640, 480, K_WIDE, np.array(DISTORTIONS["equidistant"]), "f", "equidistant")
    assert fish.scaled(0.5, 0.5).distortion_model == "equidistant"
