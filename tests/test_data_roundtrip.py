"""Writer -> reader round trip of a small synthetic contract bag, in both storages and several encodings."""
import numpy as np
import pytest

from tracker.common.geometry import CameraModel, Transform
from tracker.data.contract import CAMERAS, Topics, counts_to_kelvin, kelvin_to_counts
from tracker.data.encodings import metres_to_depth
from tracker.data.reader import BagReader, BagReadError
from tracker.data.writer import BagWriter, Det2D, Det3D


def _write_bag(path, storage="mcap", thermal_enc="mono16", depth_enc="16UC1", with_depth=True, with_gt=True):
    topics = Topics()
    cams = {"color": CameraModel.from_fov(32, 24, 60, "cc"), "thermal": CameraModel.from_fov(20, 16, 50, "tt"),
            "depth": CameraModel.from_fov(32, 24, 70, "dd")}
    T_c_t = Transform.from_quat((0.03, 0.0, 0.0), (0.0, 0.0, 0.0087, 0.99996))
    T_t_d = Transform.from_quat((0.02, 0.01, 0.0), (0, 0, 0, 1))
    rng = np.random.default_rng(0)
    frames = []
    with BagWriter(path, storage=storage, latency_s=0.004) as w:
        w.write_tf_static(0.0, {"tt": ("cc", T_c_t), "dd": ("tt", T_t_d)})
        for i in range(5):
            t = 10.0 + i / 10
            rgb = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
            w.write_camera_info(topics.color_info, t, cams["color"])
            w.write_image(topics.color_image, t, "cc", rgb, "rgb8")
            th = kelvin_to_counts(np.full((16, 20), 300.0)) if thermal_enc == "mono16" else \
                np.full((16, 20), 77, np.uint8)
            w.write_camera_info(topics.thermal_info, t + 0.011, cams["thermal"])
            w.write_image(topics.thermal_image, t + 0.011, "tt", th, thermal_enc)
            if with_depth:
                d = np.full((24, 32), 2.5, np.float32)
                d[0, 0] = np.nan
                w.write_camera_info(topics.depth_info, t - 0.007, cams["depth"])
                w.write_image(topics.depth_image, t - 0.007, "dd", metres_to_depth(d, depth_enc), depth_enc)
            if with_gt:
                w.write_detections_3d(topics.gt_tracks, t, "cc", [Det3D("p1", "person", np.array([0, 0, 3.0]),
                                                                        np.array([0.5, 1.7, 0.4]))])
                w.write_detections_2d(topics.gt_tracks_2d, t, "cc", [Det2D("p1", "person", (1, 2, 11, 20), 0.75)])
            frames.append((t, rgb))
    return cams, T_c_t, T_t_d, frames


@pytest.mark.parametrize("storage,thermal_enc,depth_enc", [("mcap", "mono16", "16UC1"),
                                                           ("sqlite3", "mono8", "32FC1")])
def test_round_trip(tmp_path, storage, thermal_enc, depth_enc):
    cams, T_c_t, T_t_d, frames = _write_bag(tmp_path / "bag", storage, thermal_enc, depth_enc)
    r = BagReader(tmp_path / "bag")
    assert set(r.cameras) == set(CAMERAS)
    assert np.allclose(r.cameras["thermal"].K, cams["thermal"].K) and r.cameras["depth"].frame_id == "dd"
    ext = r.extrinsics
    assert np.allclose(ext["color"].matrix(), np.eye(4))
    assert np.allclose(ext["thermal"].matrix(), T_c_t.matrix(), atol=1e-9)
    assert np.allclose(ext["depth"].matrix(), (T_c_t @ T_t_d).matrix(), atol=1e-9)  # chained
    samples = list(r.samples(max_offset_s=0.02))
    assert [s.stamp for s in samples] == pytest.approx([f[0] for f in frames])
    for s, (t, rgb) in zip(samples, frames):
        assert np.array_equal(s.rgb, rgb)
        assert s.thermal_encoding == thermal_enc
        if thermal_enc == "mono16":
            assert np.allclose(counts_to_kelvin(s.thermal), 300.0)
        assert s.depth.dtype == np.float32 and np.isnan(s.depth[0, 0]) and s.depth[1, 1] == pytest.approx(2.5)
        assert s.gt2d[0].id == "p1" and s.gt2d[0].box == pytest.approx((1, 2, 11, 20))
        assert s.gt2d[0].visibility == pytest.approx(0.75)
        assert s.gt3d[0].cls == "person" and np.allclose(s.gt3d[0].center, [0, 0, 3])
    assert r.topics_present >= {Topics().color_image, Topics().gt_tracks, "/tf_static"}
    assert r.duration > 0.3


def test_missing_modalities_and_tight_offset(tmp_path):
    _write_bag(tmp_path / "bag", with_depth=False, with_gt=False)
    r = BagReader(tmp_path / "bag")
    assert "depth" not in r.cameras and "depth" not in r.extrinsics
    samples = list(r.samples(max_offset_s=0.005))  # thermal is 11 ms away
    assert len(samples) == 5 and all(s.thermal is None and s.depth is None and s.gt2d == [] for s in samples)


def test_raw_messages_for_player(tmp_path):
    _write_bag(tmp_path / "bag")
    r = BagReader(tmp_path / "bag")
    msgs = list(r.messages([Topics().color_image]))
    assert len(msgs) == 5 and msgs[0][1] == 10_000_000_000 and msgs[0][2].encoding == "rgb8"


def test_unreadable_bag_errors(tmp_path):
    with pytest.raises(BagReadError, match="not found"):
        BagReader(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BagReadError, match="metadata.yaml"):
        BagReader(tmp_path / "empty")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "metadata.yaml").write_text("garbage: [")
    with pytest.raises(BagReadError, match="cannot open"):
        BagReader(tmp_path / "broken")


def test_a_write_interrupted_by_an_exception_leaves_no_bag(tmp_path):
    """A simulator killed mid-bag (e.g. a worker dying) must not leave a bag that looks complete: rosbag2's
    metadata.yaml is written on close, and training/eval treat a folder with it as a finished bag."""
    path = tmp_path / "broken"
    with pytest.raises(RuntimeError, match="worker died"):
        with BagWriter(path) as w:
            w.write_image("/camera/color/image_raw", 1.0, "cam", np.zeros((4, 4, 3), np.uint8), "rgb8")
            raise RuntimeError("worker died")
    assert not path.exists()
