"""The one bag layer (tracker.data.bag), the ROS-free message conversions (tracker.data.messages) and the one
static-TF graph search (tracker.common.tf)."""
import numpy as np
import pytest

from tracker.common.geometry import CameraModel, Transform
from tracker.common.tf import extrinsics_from_edges, normalize_frame, transforms_from
from tracker.data import messages as m
from tracker.data.bag import Bag, BagReadError
from tracker.data.contract import Topics
from tracker.data.encodings import EncodingError
from tracker.data.reader import BagReader
from tracker.data.writer import BagWriter

T = Topics()
T_C_T = Transform.from_quat((0.05, 0.0, 0.0), (0.0, 0.0, 0.0087, 0.99996))


def _bag(path, color_info=None, tf_frames=("cc", "tt")):
    cam_c = color_info or CameraModel.from_fov(16, 12, 60, "cc")
    with BagWriter(path) as w:
        w.write_tf_static(0.5, {tf_frames[1]: (tf_frames[0], T_C_T)})
        for k in range(3):
            t = 1.0 + k / 10
            w.write_camera_info(T.color_info, t, cam_c)
            w.write_image(T.color_image, t, "cc", np.full((12, 16, 3), k, np.uint8), "rgb8")
            w.write_camera_info(T.thermal_info, t + 0.01, CameraModel.from_fov(8, 6, 50, "tt"))
            w.write_image(T.thermal_image, t + 0.01, "tt", np.full((6, 8), 1000 + k, np.uint16), "mono16")
    return path


def test_bag_contents_and_stamps(tmp_path):
    with Bag(_bag(tmp_path / "b")) as b:
        assert b.count(T.color_image) == 3 and T.tf_static in b.topics_present
        assert b.has_header(T.color_image) and not b.has_header(T.tf_static)
        assert b.header_stamps(T.color_image) == [1_000_000_000, 1_100_000_000, 1_200_000_000]
        assert b.duration_ns == 1_210_000_000 - 500_000_000
        topic, stamp, t_bag, msg = next(b.decoded([T.thermal_image]))
        assert stamp == t_bag == 1_010_000_000 and msg.encoding == "mono16"
        _, _, raw = next(iter(b.raw([T.color_image])))
        assert m.header_stamp_ns(raw) == 1_000_000_000


def test_bag_errors(tmp_path):
    with pytest.raises(BagReadError, match="not found"):
        Bag(tmp_path / "nope")
    (tmp_path / "d").mkdir()
    with pytest.raises(BagReadError, match="metadata.yaml"):
        Bag(tmp_path / "d")


def test_header_stamp_rewrite_keeps_the_rest(tmp_path):
    with Bag(_bag(tmp_path / "b")) as b:
        conn, _, raw = next(iter(b.raw([T.color_image])))
        shifted = m.with_header_stamp(raw, 7_250_000_001)
        assert m.header_stamp_ns(shifted) == 7_250_000_001 and len(shifted) == len(bytes(raw))
        back = b.decode(shifted, conn)
        assert back.header.stamp.sec == 7 and back.header.stamp.nanosec == 250_000_001
        assert np.array_equal(m.image_to_array(back), np.zeros((12, 16, 3), np.uint8))
    assert m.try_header_stamp_ns(b"\x00\x01") is None
    with pytest.raises(m.MessageError):
        m.header_stamp_ns(b"\x00\x01\x00\x00")


def test_messages_are_duck_typed_on_rosbags_messages(tmp_path):
    with Bag(_bag(tmp_path / "b")) as b:
        info = b.first(T.thermal_info)
        img = b.first(T.thermal_image)
        tf = b.first(T.tf_static)
    cam = m.camera_info_to_model(info)
    assert (cam.width, cam.height, cam.frame_id) == (8, 6, "tt") and cam.D.shape == (5,)
    assert np.array_equal(m.image_to_array(img, "thermal"), np.full((6, 8), 1000, np.uint16))
    with pytest.raises(EncodingError, match="expected one of"):
        m.image_to_array(img, "color")
    (edge, T_ct), = m.tf_edges(tf).items()
    assert edge == ("cc", "tt") and np.allclose(T_ct.matrix(), T_C_T.matrix())
    assert m.stamp_to_ns(img.header.stamp) == 1_010_000_000 and m.split_ns(1_010_000_000) == (1, 10_000_000)


def test_reader_leaves_out_an_uncalibrated_camera(tmp_path):
    """camera_info with K = 0 (a driver without calibration) describes no camera: absent, as in the node,
    while its frame id still comes from the images."""
    bad = CameraModel(16, 12, np.zeros((3, 3)), np.zeros(5), "cc")
    r = BagReader(_bag(tmp_path / "b", color_info=bad))
    assert set(r.cameras) == {"thermal"}
    assert r.frame_ids()["color"] == "cc"
    assert np.allclose(r.extrinsics["thermal"].matrix(), T_C_T.matrix())


def test_reader_chains_tf_frames_with_a_leading_slash(tmp_path):
    r = BagReader(_bag(tmp_path / "b", tf_frames=("/cc", "/tt")))
    assert np.allclose(r.extrinsics["thermal"].matrix(), T_C_T.matrix())


def test_tf_graph_search_matches_the_processor_copy():
    from tracker.pipeline.processor import extrinsics_from_edges as processor_copy
    A = Transform.from_quat((1.0, 0.0, 0.0), (0, 0, 0.3826834, 0.9238795))
    B = Transform.from_quat((0.0, 2.0, 0.5), (0.1, 0, 0, 0.99498744))
    edges = {("base", "rgb"): A, ("base", "ir"): B, ("ir", "depth"): A, ("x", "y"): B}
    for frames in ({"color": "rgb", "thermal": "ir", "depth": "depth"}, {"color": "ir", "thermal": "y"},
                   {"thermal": "ir"}, {"color": ""}):
        ours, theirs = extrinsics_from_edges(edges, frames), processor_copy(edges, frames)
        assert ours.keys() == theirs.keys()
        for k in ours:
            assert np.allclose(ours[k].matrix(), theirs[k].matrix())
    ext = extrinsics_from_edges(edges, {"color": "rgb", "depth": "depth"})
    assert np.allclose(ext["depth"].matrix(), (A.inverse() @ B @ A).matrix())  # rgb <- base -> ir -> depth
    assert set(transforms_from("x", edges)) == {"x", "y"} and normalize_frame("/a/b") == "a/b"
