import struct

import cv2
import numpy as np
import pytest

from tracker.data.compressed import COMPRESSED_DEPTH_HEADER, decode_compressed, encode_compressed, encode_compressed_depth
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
    with pytest.raises(EncodingError, match="unsupported image encoding 'nv21'"):
        image_to_numpy("nv21", 1, 1, 2, b"\0\0")
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


# --------------------------------------------------------------------------- driver colour encodings -> RGB
#: (R, G, B) and its BT.601 limited-range (Y, U, V), the YCbCr OpenCV's 4:2:2 conversions decode
PATCHES = [((255, 0, 0), (81, 90, 240)), ((0, 255, 0), (145, 54, 34)), ((0, 0, 255), (41, 240, 110)),
           ((255, 255, 255), (235, 128, 128))]


@pytest.mark.parametrize("enc,order", [("uyvy", "UYVY"), ("yuv422", "UYVY"), ("yuyv", "YUYV"),
                                       ("yuv422_yuy2", "YUYV")])
def test_packed_yuv422_decodes_to_the_right_colours(enc, order):
    """sensor_msgs' yuv422 is UYVY (U Y0 V Y1), yuv422_yuy2 is YUYV (Y0 U Y1 V); two pixels per patch."""
    row = []
    for _, (y, u, v) in PATCHES:
        row += [u, y, v, y] if order == "UYVY" else [y, u, y, v]
    data = (bytes(row) + bytes(2)) * 2  # two rows, each padded by 2 bytes (step 18)
    rgb = image_to_numpy(enc, 2, 2 * len(PATCHES), len(row) + 2, data)
    assert rgb.shape == (2, 8, 3) and rgb.dtype == np.uint8
    for i, (want, _) in enumerate(PATCHES):
        np.testing.assert_allclose(rgb[:, 2 * i:2 * i + 2].reshape(-1, 3), [want] * 4, atol=2)


def test_packed_yuv422_with_an_odd_width_is_an_error():
    with pytest.raises(EncodingError, match="even width"):
        image_to_numpy("uyvy", 1, 3, 6, bytes(6))


@pytest.mark.parametrize("enc", ["bayer_rggb8", "bayer_bggr8", "bayer_gbrg8", "bayer_grbg8"])
def test_bayer_mosaics_decode_to_the_scene_colours(enc):
    """A mosaic sampled from a two-colour scene (left half orange, right half blue) with the encoding's 2x2
    pattern at pixel (0, 0) demosaics back to those colours away from the edge between them."""
    scene = np.zeros((12, 16, 3), np.uint8)
    scene[:, :8] = (220, 120, 20)
    scene[:, 8:] = (30, 60, 200)
    channel = {"r": 0, "g": 1, "b": 2}
    pattern = enc.split("_")[1][:4]
    mosaic = np.zeros((12, 16), np.uint8)
    for k, ch in enumerate(pattern):
        dy, dx = divmod(k, 2)
        mosaic[dy::2, dx::2] = scene[dy::2, dx::2, channel[ch]]
    h, w, step, data = numpy_to_image_fields(mosaic, enc)
    rgb = image_to_numpy(enc, h, w, step, data)
    assert rgb.shape == scene.shape
    np.testing.assert_array_equal(rgb[2:10, 2:6], scene[2:10, 2:6])
    np.testing.assert_array_equal(rgb[2:10, 10:14], scene[2:10, 10:14])


def test_rgba8_and_bgra8_drop_alpha_and_keep_rgb_order():
    rgba = np.array([[[10, 20, 30, 255], [40, 50, 60, 0]]], np.uint8)
    bgra_bytes = bytes([30, 20, 10, 255, 60, 50, 40, 0, 99, 99])  # stored B G R A, row padded to 10 bytes
    assert image_to_numpy("bgra8", 1, 2, 10, bgra_bytes).tolist() == [[[10, 20, 30], [40, 50, 60]]]
    h, w, step, data = numpy_to_image_fields(rgba, "rgba8")
    assert image_to_numpy("rgba8", h, w, step, data).tolist() == [[[10, 20, 30], [40, 50, 60]]]
    h, w, step, data = numpy_to_image_fields(rgba, "bgra8")
    assert data[:4] == bytes([30, 20, 10, 255])


# ------------------------------------------------------------------------------ CompressedImage (image_transport)
def _blocks() -> np.ndarray:
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :16] = (230, 30, 30)
    rgb[:, 16:32] = (30, 200, 40)
    rgb[:, 32:] = (20, 40, 220)
    return rgb


def test_jpeg_colour_decodes_to_rgb_in_every_format_spelling():
    """compressed_image_transport's "rgb8; jpeg compressed bgr8", a driver's bare "jpeg" (BGR data as OpenCV
    writes it) and RGB-order data ("compressed rgb8") all come out RGB."""
    rgb = _blocks()
    fmt, data = encode_compressed(rgb, "rgb8", "jpeg")
    assert fmt == "rgb8; jpeg compressed bgr8"
    bgr_jpeg = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]))[1].tobytes()
    rgb_jpeg = cv2.imencode(".jpg", rgb)[1].tobytes()  # channels stored in RGB order
    for f, d in ((fmt, data), ("jpeg", bgr_jpeg), ("bgr8; jpeg compressed bgr8", bgr_jpeg),
                 ("rgb8; jpeg compressed rgb8", rgb_jpeg)):
        out, enc = decode_compressed(f, d, "color")
        assert enc == "rgb8" and out.shape == rgb.shape and out.dtype == np.uint8
        inner = np.r_[4:12, 20:28, 36:44]  # away from the block edges (JPEG's chroma subsampling blurs them)
        assert np.abs(out[:, inner].astype(int) - rgb[:, inner]).max() <= 8, f


def test_png_grey_colour_is_replicated_and_bgra_png_loses_alpha():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    out, _ = decode_compressed("mono8; png compressed ", cv2.imencode(".png", grey)[1], "color")
    assert out.shape == (3, 4, 3) and (out == grey[..., None]).all()
    bgra = np.zeros((2, 2, 4), np.uint8)
    bgra[...] = (10, 20, 30, 128)
    out, _ = decode_compressed("bgra8; png compressed bgra8", cv2.imencode(".png", bgra)[1], "color")
    assert out[0, 0].tolist() == [30, 20, 10]


def test_mono16_thermal_png_is_lossless_and_8_bit_thermal_is_refused():
    counts = (np.arange(20, dtype=np.uint16).reshape(4, 5) * 7 + 29000)
    fmt, data = encode_compressed(counts, "mono16", "png")
    assert fmt == "mono16; png compressed "  # compressed_image_transport: no target for mono images
    out, enc = decode_compressed(fmt, data, "thermal")
    assert enc == "mono16" and out.dtype == np.uint16 and np.array_equal(out, counts)
    eight_bit = cv2.imencode(".jpg", (counts // 256).astype(np.uint8))[1]
    with pytest.raises(EncodingError, match="radiometric counts are lost"):
        decode_compressed("mono16; jpeg compressed ", eight_bit, "thermal")
    out, enc = decode_compressed("mono8; jpeg compressed ", eight_bit, "thermal")
    assert enc == "mono8" and out.dtype == np.uint8


def test_compressed_depth_16uc1_header_and_png():
    """compressedDepth 16UC1: 12-byte ConfigHeader (unused parameters) + 16-bit PNG of millimetres; the older
    format string without a codec is png."""
    mm = np.array([[0, 500, 1500], [2000, 9999, 65535]], np.uint16)
    data = struct.pack("<iff", 0, 0.0, 0.0) + cv2.imencode(".png", mm)[1].tobytes()
    for fmt in ("16UC1; compressedDepth", "16UC1; compressedDepth png"):
        m, enc = decode_compressed(fmt, data, "depth")
        assert enc == "16UC1" and m.dtype == np.float32
        assert np.isnan(m[0, 0]) and m[0, 2] == pytest.approx(1.5) and m[1, 2] == pytest.approx(65.535)
    fmt, ours = encode_compressed_depth(mm, "16UC1")
    assert fmt == "16UC1; compressedDepth png" and ours[:12] == struct.pack("<iff", 0, 0.0, 0.0)
    m, _ = decode_compressed(fmt, ours, "depth")
    assert np.isnan(m[1, 2])  # the publisher zeroes readings above its depth_max (10 m by default)


def test_compressed_depth_32fc1_inverse_depth_quantisation():
    """32FC1: header (INV_DEPTH = 0, A, B) + PNG of q = trunc(A / z + B); z = A / (q - B); q = 0 = none.
    Defaults of compressed_depth_image_transport: depth_quantization 100, depth_max 10 -> A = 10100, B = -1009."""
    z = np.array([[0.5, 2.0, 7.25], [9.5, np.nan, 12.0]], np.float32)
    A, B = np.float32(100 * 101), np.float32(1 - 10100 / 10)
    q = np.where(np.isfinite(z) & (z < 10), np.trunc(A / z + B), 0).astype(np.uint16)
    data = struct.pack("<iff", 0, float(A), float(B)) + cv2.imencode(".png", q)[1].tobytes()
    m, enc = decode_compressed("32FC1; compressedDepth png", data, "depth")
    assert enc == "32FC1"
    ok = np.isfinite(z) & (z < 10)
    np.testing.assert_array_equal(np.isnan(m), ~ok)
    # quantisation step of inverse depth: dz = z^2 / A per count (2.5 cm at 5 m)
    assert (np.abs(m[ok] - z[ok]) <= z[ok] ** 2 / A + 1e-6).all()
    fmt, ours = encode_compressed_depth(z, "32FC1")
    assert ours[:12] == data[:12] and np.array_equal(cv2.imdecode(np.frombuffer(ours[12:], np.uint8), -1), q)


@pytest.mark.parametrize("fmt,data,role,match", [
    ("rgb8; jpeg compressed bgr8", b"\xff\xd8\xff\xe0garbage", "color", "could not decode"),
    ("rgb8; jpeg compressed bgr8", b"", "color", "could not decode"),
    ("16UC1; compressedDepth png", b"\0" * 12, "depth", "shorter than its 12-byte header"),
    ("16UC1; compressedDepth rvl", b"\0" * 40, "depth", "'rvl' is not supported"),
    ("16UC1; compressedDepth png", b"\0" * 40, "color", "compressedDepth format"),
    ("32FC1; compressedDepth png", struct.pack("<iff", -1, 1.0, 1.0) + b"\0" * 40, "depth", "could not decode"),
])
def test_bad_compressed_messages_raise_a_clear_encoding_error(fmt, data, role, match):
    with pytest.raises(EncodingError, match=match):
        decode_compressed(fmt, data, role)


def test_compressed_depth_32fc1_with_a_foreign_header_is_refused():
    png = cv2.imencode(".png", np.ones((2, 2), np.uint16))[1].tobytes()
    with pytest.raises(EncodingError, match="not an inverse-depth one"):
        decode_compressed("32FC1; compressedDepth png", struct.pack("<iff", -1, 1.0, 1.0) + png, "depth")
    assert COMPRESSED_DEPTH_HEADER.size == 12
