"""Registration of depth and thermal into the RGB camera, checked against analytic scenes."""
import numpy as np
import pytest

from tracker.common.config import ConfigError, from_mapping
from tracker.common.geometry import CameraModel, Transform
from tracker.pipeline.registration import Registrar, RegistrationConfig

COLOR = CameraModel.from_fov(160, 120, 70, "color")
DEPTH = CameraModel.from_fov(176, 132, 80, "depth")
THERMAL = CameraModel.from_fov(128, 112, 60, "thermal")
T_COLOR_DEPTH = Transform.from_quat([0.04, 0.0, 0.0], [0, 0.02, 0, 1])
T_COLOR_THERMAL = Transform.from_quat([-0.06, 0.01, 0.0], [0.01, 0, 0, 1])


def render_depth(cam, T_color_cam, wall_z, box_center, box_half):
    """Depth image of a fronto-parallel wall at wall_z (colour frame) and an axis-aligned box in front."""
    rays = cam.pixel_rays()
    T_cam_color = T_color_cam.inverse()
    out = np.full((cam.height, cam.width), np.inf)
    # ray-plane intersections, in the colour frame: p = o + s d
    o = T_color_cam.t
    d = np.concatenate([rays, np.ones(rays.shape[:2] + (1,))], axis=-1) @ T_color_cam.R.T
    s_wall = (wall_z - o[2]) / d[..., 2]
    out = np.minimum(out, s_wall)
    lo, hi = np.asarray(box_center) - box_half, np.asarray(box_center) + box_half
    s_front = (lo[2] - o[2]) / d[..., 2]
    hit = o + s_front[..., None] * d
    inside = np.all((hit[..., :2] >= lo[:2]) & (hit[..., :2] <= hi[:2]), axis=-1)
    out = np.where(inside, np.minimum(out, s_front), out)
    # s is along a ray with camera-frame z component 1, so s is the camera-frame depth
    del T_cam_color
    return out.astype(np.float32)


def test_depth_lands_where_the_rgb_camera_sees_it():
    reg = Registrar({"color": COLOR, "depth": DEPTH}, {"depth": T_COLOR_DEPTH})
    center = np.array([0.3, -0.1, 2.0])
    depth = render_depth(DEPTH, T_COLOR_DEPTH, 6.0, center, 0.25)
    out = reg.depth_to_rgb(depth)
    assert out.shape == (COLOR.height, COLOR.width) and out.dtype == np.float32
    uv, _ = COLOR.project(center[None] - [0, 0, 0.25])
    u, v = np.rint(uv[0]).astype(int)
    assert out[v, u] == pytest.approx(1.75, abs=0.02)
    # far away from the box the wall is seen, at its depth in the colour frame
    assert np.nanmedian(out[:10, :10]) == pytest.approx(6.0, abs=0.05)
    assert np.isnan(out).mean() < 0.05


def test_invalid_depth_stays_invalid():
    reg = Registrar({"color": COLOR, "depth": DEPTH}, {"depth": T_COLOR_DEPTH})
    depth = np.full((DEPTH.height, DEPTH.width), np.nan, np.float32)
    depth[:, :5] = 0.0
    assert np.isnan(reg.depth_to_rgb(depth)).all()


def test_thermal_hot_spot_registers_onto_rgb_pixel():
    reg = Registrar({"color": COLOR, "thermal": THERMAL, "depth": DEPTH},
                    {"thermal": T_COLOR_THERMAL, "depth": T_COLOR_DEPTH},
                    RegistrationConfig(use_depth_for_thermal=True))
    point = np.array([-0.2, 0.1, 1.5])
    pt = T_COLOR_THERMAL.inverse().apply(point[None])
    (tu, tv), = THERMAL.project(pt)[0]
    yy, xx = np.mgrid[0:THERMAL.height, 0:THERMAL.width]
    thermal = (30000 + 3000 * np.exp(-((xx - tu) ** 2 + (yy - tv) ** 2) / (2 * 2.0 ** 2))).astype(np.uint16)
    depth_rgb = np.full((COLOR.height, COLOR.width), 1.5, np.float32)
    out = reg.thermal_to_rgb(thermal, depth_rgb)
    assert out.dtype == np.uint16 and out.shape == (COLOR.height, COLOR.width)
    v, u = np.unravel_index(np.argmax(out), out.shape)
    (eu, ev), = COLOR.project(point[None])[0]
    assert abs(u - eu) <= 1.0 and abs(v - ev) <= 1.0
    # without depth the assumed distance is used: at 1.5 m a wrong assumption shifts the spot a little
    out_plane = reg.thermal_to_rgb(thermal)
    v2, u2 = np.unravel_index(np.argmax(out_plane), out_plane.shape)
    assert abs(u2 - eu) <= 4 and abs(v2 - ev) <= 4


def test_identical_cameras_pass_through():
    reg = Registrar({"color": COLOR, "thermal": COLOR, "depth": COLOR}, {})
    img = np.arange(COLOR.width * COLOR.height, dtype=np.uint16).reshape(COLOR.height, COLOR.width)
    np.testing.assert_array_equal(reg.thermal_to_rgb(img), img)
    d = np.full((COLOR.height, COLOR.width), 3.0, np.float32)
    np.testing.assert_array_equal(reg.depth_to_rgb(d), d)


def test_size_mismatch_and_missing_camera_are_clear_errors():
    reg = Registrar({"color": COLOR, "depth": DEPTH}, {"depth": T_COLOR_DEPTH})
    with pytest.raises(ValueError, match="camera_info says"):
        reg.depth_to_rgb(np.ones((10, 10), np.float32))
    with pytest.raises(ValueError, match="no thermal camera_info"):
        reg.thermal_to_rgb(np.ones((10, 10), np.uint16))
    with pytest.raises(ValueError, match="RGB"):
        Registrar({"depth": DEPTH}, {})


def test_config_ranges_are_checked():
    with pytest.raises(ConfigError, match="assumed_distance_m"):
        from_mapping(RegistrationConfig, {"assumed_distance_m": -1.0}, "registration")
    with pytest.raises(ConfigError, match="must exceed"):
        from_mapping(RegistrationConfig, {"min_depth_m": 5.0, "max_depth_m": 1.0}, "registration")


# ------------------------------------------------------------------------------------------ lens distortion
K_320 = np.array([[210.0, 0, 165.5], [0, 212.0, 118.0], [0, 0, 1]])
DISTORTED = {
    "plumb_bob": [-0.28, 0.09, 0.0012, -0.0008, -0.012],
    "rational_polynomial": [0.45, -0.08, 0.0011, -0.0006, 0.01, 0.8, 0.02, 0.005],
    "equidistant": [-0.02, 0.012, -0.006, 0.001],
}


def _cam(model, frame):
    return CameraModel(320, 240, K_320, np.array(DISTORTED[model]), frame, model)


def _cv_project(cam, pts):
    """Pixels of camera-frame points by OpenCV (independent of CameraModel's own projection)."""
    import cv2
    obj = np.asarray(pts, np.float64).reshape(-1, 1, 3)
    z = np.zeros((3, 1))
    if cam.distortion_model == "equidistant":
        uv, _ = cv2.fisheye.projectPoints(obj, z, z, cam.K, cam.D)
    else:
        uv, _ = cv2.projectPoints(obj, z, z, cam.K, cam.D)
    return uv.reshape(-1, 2)


def _cv_rays(cam):
    """Undistorted rays (H, W, 2) of every pixel by OpenCV."""
    import cv2
    u, v = np.meshgrid(np.arange(cam.width, dtype=np.float64), np.arange(cam.height, dtype=np.float64))
    pts = np.stack([u.ravel(), v.ravel()], axis=1).reshape(-1, 1, 2)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-12)
    if cam.distortion_model == "equidistant":
        n = cv2.fisheye.undistortPoints(pts, cam.K, cam.D, criteria=crit)
    else:
        n = cv2.undistortPointsIter(pts, cam.K, cam.D, None, None, crit)
    return n.reshape(cam.height, cam.width, 2)


@pytest.mark.parametrize("color_model,thermal_model", [("plumb_bob", "equidistant"),
                                                       ("rational_polynomial", "plumb_bob"),
                                                       ("equidistant", "rational_polynomial")])
def test_distorted_thermal_hot_spot_lands_on_the_right_rgb_pixel(color_model, thermal_model):
    """Both cameras distorted: a hot spot near the corner of the thermal image (where the lenses move it by
    tens of pixels) lands where OpenCV projects its 3D point into the distorted RGB image."""
    color, thermal = _cam(color_model, "color"), _cam(thermal_model, "thermal")
    T = Transform.from_quat([-0.05, 0.01, 0.0], [0.0, 0.01, 0.0, 1.0])
    reg = Registrar({"color": color, "thermal": thermal}, {"thermal": T}, RegistrationConfig(assumed_distance_m=4.0))
    point = np.array([-2.3, -1.55, 4.0])  # in the RGB frame, on the assumed-distance plane, near a corner
    (tu, tv), = _cv_project(thermal, T.inverse().apply(point[None]))
    (eu, ev), = _cv_project(color, point[None])
    (pu, pv), = CameraModel(320, 240, K_320).project(point[None])[0]
    assert np.hypot(eu - pu, ev - pv) > 15 and 0 < eu < 320 and 0 < ev < 240  # distortion matters here
    yy, xx = np.mgrid[0:240, 0:320]
    image = (30000 + 3000 * np.exp(-((xx - tu) ** 2 + (yy - tv) ** 2) / (2 * 1.5 ** 2))).astype(np.uint16)
    out = reg.thermal_to_rgb(image)
    v, u = np.unravel_index(np.argmax(out), out.shape)
    assert abs(u - eu) <= 1.0 and abs(v - ev) <= 1.0, ((u, v), (eu, ev))


def test_distorted_depth_registers_where_opencv_puts_it():
    """A fisheye depth camera sees a 0.4 m square at 2 m in front of a wall at 3.5 m (rays by OpenCV): its
    registered depth covers the square's pixels of a plumb_bob RGB camera, and the wall around it."""
    color, depth_cam = _cam("plumb_bob", "color"), _cam("equidistant", "depth")
    T = Transform.from_quat([0.04, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0])
    centre = np.array([-1.5, 0.9, 2.0])  # colour frame, towards a corner
    rays = _cv_rays(depth_cam)
    o = T.t  # depth camera centre in the colour frame (no rotation): p = o + z * (x, y, 1)
    z_sq = centre[2] - o[2]
    hit = o[:2] + z_sq * rays
    inside = np.all(np.abs(hit - centre[:2]) <= 0.2, axis=-1)
    depth = np.where(inside, z_sq, 3.5 - o[2]).astype(np.float32)
    out = Registrar({"color": color, "depth": depth_cam}, {"depth": T}).depth_to_rgb(depth)
    (u, v), = np.rint(_cv_project(color, centre[None])).astype(int)
    assert out[v, u] == pytest.approx(2.0, abs=0.01)
    corners = _cv_project(color, centre + np.array([[-0.3, -0.3, 0], [0.3, 0.3, 0]]))  # 0.1 m outside the square
    for cu, cv_ in np.rint(corners).astype(int):
        assert out[cv_, cu] == pytest.approx(3.5, abs=0.01)
