"""conversions: image decoding for every contract encoding, camera_info, tf, output messages, rosbags -> rclpy."""
import numpy as np
import pytest

pytest.importorskip("rclpy")

from builtin_interfaces.msg import Time  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402

from tracker.core.types import Detections, Track, TrackState  # noqa: E402
from tracker.nodes import conversions as conv  # noqa: E402


def _img(arr, enc):
    return conv.array_to_image(arr, enc, Time(sec=5, nanosec=7), "f")


def test_color_encodings_decode_to_rgb():
    rgb = np.random.default_rng(0).integers(0, 255, (4, 5, 3), dtype=np.uint8)
    assert np.array_equal(conv.image_to_array(_img(rgb, "rgb8")), rgb)
    assert np.array_equal(conv.image_to_array(_img(rgb, "bgr8")), rgb)
    mono = rgb[..., 0].copy()
    assert conv.image_to_array(_img(mono, "mono8")).shape == (4, 5, 3)


def test_depth_encodings_to_metres_with_nan():
    mm = np.array([[0, 1500], [2000, 65535]], np.uint16)
    d = conv.image_to_array(_img(mm, "16UC1"), "depth")
    assert np.isnan(d[0, 0]) and d[0, 1] == pytest.approx(1.5)
    m = np.array([[np.nan, 0.0], [2.5, -1]], np.float32)
    d = conv.image_to_array(_img(m, "32FC1"), "depth")
    assert np.isnan(d[0, 0]) and np.isnan(d[0, 1]) and d[1, 0] == 2.5 and np.isnan(d[1, 1])


def test_thermal_mono16_raw_and_errors():
    t = np.array([[30000, 31000]], np.uint16)
    assert np.array_equal(conv.image_to_array(_img(t, "mono16"), "thermal"), t)
    with pytest.raises(conv.EncodingError, match="expected one of"):
        conv.image_to_array(_img(t, "mono16"), "color")
    bad = _img(t, "mono16")
    bad.data = b"\x00"
    with pytest.raises(conv.EncodingError, match="bytes"):
        conv.image_to_array(bad, "thermal")
    padded = Image(height=1, width=2, encoding="mono16", step=6)  # rows padded to 6 bytes
    padded.data = t.tobytes() + b"\xff\xff"
    assert np.array_equal(conv.image_to_array(padded, "thermal"), t)


def test_driver_colour_encodings_through_the_message():
    """bgra8 and Bayer Image messages decode to RGB through the same call as rgb8 (colour role only)."""
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[...] = (200, 100, 50, 255)
    assert conv.image_to_array(_img(rgba, "bgra8"))[0, 0].tolist() == [200, 100, 50]
    mosaic = np.zeros((4, 6), np.uint8)
    mosaic[0::2, 0::2], mosaic[1::2, 1::2] = 200, 50  # rggb: R at (0, 0), B at (1, 1), G = 0
    out = conv.image_to_array(_img(mosaic, "bayer_rggb8"))
    assert out.shape == (4, 6, 3) and out[2, 2].tolist() == [200, 0, 50]
    with pytest.raises(conv.EncodingError, match="expected one of"):
        conv.image_to_array(_img(mosaic, "bayer_rggb8"), "thermal")


def test_compressed_images_decode_with_their_encoding():
    st = Time(sec=5, nanosec=7)
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[:, :8] = (250, 10, 10)
    msg = conv.array_to_compressed_image(rgb, "rgb8", st, "f")
    out, enc = conv.decode_image(msg, "color")
    assert enc == "rgb8" and out[8, 2].tolist() == pytest.approx([250, 10, 10], abs=6)
    counts = np.full((3, 4), 30123, np.uint16)
    out, enc = conv.decode_image(conv.array_to_compressed_image(counts, "mono16", st, "f", codec="png"), "thermal")
    assert enc == "mono16" and np.array_equal(out, counts)
    mm = np.array([[0, 2500]], np.uint16)
    m, enc = conv.decode_image(conv.array_to_compressed_image(mm, "16UC1", st, "f", transport="compressedDepth"),
                               "depth")
    assert np.isnan(m[0, 0]) and m[0, 1] == pytest.approx(2.5)
    raw, enc = conv.decode_image(_img(counts, "mono16"), "thermal")
    assert enc == "mono16" and np.array_equal(raw, counts)


def test_camera_info_distortion_models():
    m = CameraInfo(width=640, height=480, distortion_model="rational_polynomial")
    m.k = [500.0, 0, 320, 0, 500, 240, 0, 0, 1]
    m.d = [0.4, -0.1, 0.001, 0.0, 0.01, 0.8, 0.02, 0.005]
    cam = conv.camera_info_to_model(m)
    assert cam.distortion_model == "rational_polynomial" and cam.D.tolist() == list(m.d)
    m.distortion_model, m.d = "equidistant", [0.1, -0.02, 0.003, 0.0]
    assert conv.camera_info_to_model(m).D.shape == (4,)
    m.distortion_model = "kannala_brandt"
    with pytest.raises(ValueError, match="unsupported distortion model 'kannala_brandt'"):
        conv.camera_info_to_model(m)
    m.distortion_model, m.d = "plumb_bob", [0.1, 0, 0, 0, 0, 0.3, 0, 0]
    with pytest.raises(ValueError, match="plumb_bob has 5 coefficients"):
        conv.camera_info_to_model(m)


def test_camera_info_validation():
    m = CameraInfo(width=640, height=480)
    m.k = [500.0, 0, 320, 0, 500, 240, 0, 0, 1]
    cam = conv.camera_info_to_model(m)
    assert cam.fx == 500 and cam.D.shape == (5,)
    m.k = [0.0] * 9
    with pytest.raises(ValueError, match="intrinsics"):
        conv.camera_info_to_model(m)


def _track(i, pos=(1.0, 0.5, 6.0)):
    return Track(i, TrackState.CONFIRMED, np.array([10, 20, 50, 120.]), None if pos is None else np.array(pos),
                 np.array([0.5, 0, 0]), np.eye(6) * 0.1, 0, "person", 0.8, 1.0, 0.0, 5, 0,
                 frozenset({"color", "depth"}))


def test_output_messages():
    st = Time(sec=1, nanosec=2)
    tracks = [_track(3), _track(4, None)]
    sizes = {3: np.array([0.6, 1.7, 0.5])}
    m3 = conv.tracks_3d_msg(tracks, sizes, st, "cam")
    assert [d.id for d in m3.detections] == ["3"]  # no 3D -> not in the 3D array
    d = m3.detections[0]
    assert d.results[0].hypothesis.class_id == "person" and d.results[0].hypothesis.score == pytest.approx(0.8)
    assert d.bbox.center.position.z == 6.0 and d.bbox.size.y == pytest.approx(1.7)
    assert m3.header.stamp == st and m3.header.frame_id == "cam"
    m2 = conv.tracks_2d_msg(tracks, st, "cam")
    assert [x.id for x in m2.detections] == ["3", "4"] and m2.detections[0].bbox.size_x == 40
    ta = conv.track_array_msg(tracks, sizes, st, "cam")
    assert ta.tracks[0].has_position and not ta.tracks[1].has_position and ta.tracks[0].seen_depth
    mk = conv.markers_msg(tracks, sizes, st, "cam")
    assert len(mk.markers) == 1 + 3
    dets = Detections(np.array([[0, 0, 5, 5.]]), np.array([0.7]), np.array([1]))
    dm = conv.detections_2d_msg(dets, ("person", "vehicle"), st, "cam")
    assert dm.detections[0].results[0].hypothesis.class_id == "vehicle"


def test_from_rosbags_generic_converter():
    from tracker.data.writer import BagWriter
    from tracker.common.geometry import CameraModel
    w = BagWriter.__new__(BagWriter)
    from tracker.data.typestore import get_typestore
    w.typestore = get_typestore()
    rb = w.image_msg(1.5, "cam", np.arange(12, dtype=np.uint8).reshape(2, 2, 3), "rgb8")
    msg = conv.from_rosbags(rb)
    assert isinstance(msg, Image) and msg.header.frame_id == "cam" and bytes(msg.data) == bytes(range(12))
    info = conv.from_rosbags(w.camera_info_msg(1.5, CameraModel.from_fov(64, 48, 60, "c")))
    assert isinstance(info, CameraInfo) and info.width == 64 and len(info.k) == 9
    det = conv.from_rosbags(w.detections_3d_msg(1.5, "cam", [("7", "person", np.ones(3), np.ones(3))]))
    assert det.detections[0].id == "7" and det.detections[0].results[0].hypothesis.class_id == "person"


def test_marker_lifetime_and_default_size_come_from_the_config():
    from tracker.nodes.config import MarkersSection
    st = Time(sec=1, nanosec=2)
    cfg = MarkersSection(lifetime_s=1.25, default_size_m=(1.0, 2.0, 3.0))
    mk = conv.markers_msg([_track(3)], {}, st, "cam", cfg)
    box = [m for m in mk.markers if m.ns == "box"][0]
    assert (box.lifetime.sec, box.lifetime.nanosec) == (1, 250_000_000)
    assert (box.scale.x, box.scale.y, box.scale.z) == (1.0, 2.0, 3.0)
    label = [m for m in mk.markers if m.ns == "label"][0]
    assert label.pose.position.y == pytest.approx(0.5 - 1.0 - cfg.label_gap_m)
    default = conv.markers_msg([_track(3)], {}, st, "cam")
    assert [m for m in default.markers if m.ns == "box"][0].lifetime.nanosec == 500_000_000


def test_decoding_is_the_data_layers():
    """The node decodes with tracker.data.messages (one implementation for bags and DDS)."""
    from tracker.data import messages
    assert conv.image_to_array is messages.image_to_array and conv.camera_info_to_model is messages.camera_info_to_model
    assert conv.tf_edges is messages.tf_edges and conv.stamp_to_ns is messages.stamp_to_ns
