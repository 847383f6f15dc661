"""depth3d: robust depth inside a box, back-projection with the RGB intrinsics, depth-head fallback."""
import numpy as np
import pytest

from tracker.common.config import ConfigError, from_mapping
from tracker.common.geometry import CameraModel
from tracker.pipeline.depth3d import SOURCE_DEPTH, SOURCE_HEAD, SOURCE_NONE, Depth3DConfig, boxes_to_3d

CAM = CameraModel.from_fov(640, 480, 69.0, "rgb")


def scene(z_obj=5.0, z_bg=20.0):
    d = np.full((480, 640), z_bg, np.float32)
    d[200:400, 300:360] = z_obj
    return d


def test_object_depth_beats_background_and_backprojects():
    box = np.array([[300, 200, 360, 400]], float)
    # background leaks into the box margins: the central region + low percentile still gives the object
    b = boxes_to_3d(box + [[-10, -10, 10, 10]], ["person"], CAM, scene(), None, Depth3DConfig())
    assert b.source[0] == SOURCE_DEPTH
    assert b.positions[0, 2] == pytest.approx(5.0, abs=1e-3)
    uv, _ = CAM.project(b.positions)
    assert uv[0] == pytest.approx([330, 300], abs=0.5)
    assert b.sizes[0, 0] == pytest.approx(80 * 5.0 / CAM.fx, rel=1e-3)  # width of the (padded) box at 5 m
    assert b.sizes[0, 2] == 0.5


def test_nan_and_zero_depth_fall_back_to_depth_head_then_nan():
    d = np.full((480, 640), np.nan, np.float32)
    d[:10] = 0.0
    box = np.array([[300, 200, 360, 400], [10, 10, 50, 60]], float)
    b = boxes_to_3d(box, ["person", "vehicle"], CAM, d, np.array([7.0, np.nan]), Depth3DConfig())
    assert list(b.source) == [SOURCE_HEAD, SOURCE_NONE]
    assert np.linalg.norm(b.positions[0]) == pytest.approx(7.0, rel=1e-6)  # range along the ray
    assert np.isnan(b.positions[1]).all()


def test_no_camera_or_no_boxes():
    b = boxes_to_3d(np.zeros((0, 4)), [], CAM, scene(), None, Depth3DConfig())
    assert b.positions.shape == (0, 3)
    b = boxes_to_3d(np.array([[0, 0, 10, 10.]]), ["person"], None, scene(), None, Depth3DConfig())
    assert np.isnan(b.positions).all()


def test_config_checks():
    with pytest.raises(ConfigError, match="depth3d.percentile"):
        from_mapping(Depth3DConfig, {"percentile": 120}, where="depth3d")
    with pytest.raises(ConfigError, match="max_depth_m"):
        from_mapping(Depth3DConfig, {"min_depth_m": 5, "max_depth_m": 1}, where="depth3d")
