import numpy as np
import pytest

from tracker.data.contract import Topics, counts_to_kelvin, kelvin_to_counts
from tracker.data.encodings import (EncodingError, depth_to_metres, image_to_numpy, metres_to_depth,
                                    numpy_to_image_fields)


@pytest.mark.parametrize("enc,arr", [
    ("rgb8", np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)),
    ("bgr8", np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)),
    ("mono8", np.arange(6, dtype=np.uint8).reshape(2, 3)),
    ("mono16", np.arange(6, dtype=np.uint16).reshape(2, 3) * 1000),
    ("16UC1", np.arange(6, dtype=np.uint16).reshape(2, 3)),
    ("32FC1", np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)),
])
def test_round_trip(enc, arr):
    h, w, step, data = numpy_to_image_fields(arr, enc)
    back = image_to_numpy(enc, h, w, step, np.frombuffer(data, np.uint8))
    assert back.dtype == arr.dtype and np.array_equal(back, arr)


def test_bgr8_is_returned_in_rgb_order_and_padding_and_bigendian():
    raw = np.array([[[1, 2, 3]]], np.uint8)  # one BGR pixel: B=1 G=2 R=3
    assert image_to_numpy("bgr8", 1, 1, 4, bytes([1, 2, 3, 0]))[0, 0].tolist() == [3, 2, 1]
    assert raw.shape == (1, 1, 3)
    be = np.array([[258]], dtype=">u2").tobytes()
    assert image_to_numpy("mono16", 1, 1, 2, be, is_bigendian=True)[0, 0] == 258


def test_errors_are_clear():
    with pytest.raises(EncodingError, match="unsupported image encoding 'yuv422'"):
        image_to_numpy("yuv422", 1, 1, 2, b"\0\0")
    with pytest.raises(EncodingError, match="expected 12 bytes"):
        image_to_numpy("mono16", 2, 3, 6, b"\0" * 10)
    with pytest.raises(EncodingError):
        numpy_to_image_fields(np.zeros((2, 2), np.float32), "16UC1")


def test_depth_conventions():
    assert np.isnan(depth_to_metres(np.array([[0, 1500]], np.uint16), "16UC1")[0, 0])
    assert depth_to_metres(np.array([[0, 1500]], np.uint16), "16UC1")[0, 1] == pytest.approx(1.5)
    m = depth_to_metres(metres_to_depth(np.array([[np.nan, 2.0]]), "32FC1"), "32FC1")
    assert np.isnan(m[0, 0]) and m[0, 1] == 2.0
    with pytest.raises(EncodingError):
        depth_to_metres(np.zeros((1, 1)), "rgb8")


def test_thermal_mapping_and_topics():
    assert kelvin_to_counts(305.15) == 30515 and counts_to_kelvin(30515) == pytest.approx(305.15)
    t = Topics(color_image="/x")
    assert t.image("color") == "/x" and t.info("depth") == "/camera/depth/camera_info"
    with pytest.raises(ValueError):
        t.image("lidar")
