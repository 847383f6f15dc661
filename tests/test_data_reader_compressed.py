"""BagReader decodes sensor_msgs/CompressedImage (image_transport's compressed and compressedDepth formats) through
the one decoder of tracker.data.messages, so a bag of compressed images reads like the same bag of raw images:
PNG colour, mono16 thermal and depth exactly, JPEG colour within JPEG noise."""
import numpy as np
import pytest

from tracker.common.geometry import CameraModel
from tracker.data.compressed import encode_compressed, encode_compressed_depth
from tracker.data.contract import Topics, kelvin_to_counts
from tracker.data.reader import BagReader, BagReadError
from tracker.data.writer import BagWriter

RAW = Topics()
COMPRESSED = Topics(color_image=RAW.color_image + "/compressed", thermal_image=RAW.thermal_image + "/compressed",
                    depth_image=RAW.depth_image + "/compressedDepth")
H, W = 24, 32
#: JPEG (quality 95) of a smooth image: per-pixel error of a few grey levels at most
JPEG_MAX_ABS_ERROR = 8


def _frames(n: int = 3):
    yy, xx = np.mgrid[0:H, 0:W]
    for i in range(n):
        rgb = np.stack([xx * 6 + i * 10, yy * 8, np.full((H, W), 120 + i)], axis=2).astype(np.uint8)
        thermal = kelvin_to_counts(295.0 + xx / 10.0 + i)  # radiometric mono16, 0.01 K / count
        depth_mm = (1000 + 40 * xx + 25 * yy + i).astype(np.uint16)
        depth_mm[0, 0] = 0  # no reading
        yield 10.0 + i / 10, rgb, thermal, depth_mm


def _write(path, colour_codec: str):
    cams = {"color": CameraModel.from_fov(W, H, 60, "cc"), "thermal": CameraModel.from_fov(W, H, 50, "tt"),
            "depth": CameraModel.from_fov(W, H, 70, "dd")}
    with BagWriter(path) as w:
        for t, rgb, thermal, depth_mm in _frames():
            for cam in cams:
                w.write_camera_info(RAW.info(cam), t, cams[cam])
            w.write_image(RAW.color_image, t, "cc", rgb, "rgb8")
            w.write_image(RAW.thermal_image, t, "tt", thermal, "mono16")
            w.write_image(RAW.depth_image, t, "dd", depth_mm, "16UC1")
            w.write_compressed_image(COMPRESSED.color_image, t, "cc", *encode_compressed(rgb, "rgb8", colour_codec))
            w.write_compressed_image(COMPRESSED.thermal_image, t, "tt", *encode_compressed(thermal, "mono16", "png"))
            w.write_compressed_image(COMPRESSED.depth_image, t, "dd", *encode_compressed_depth(depth_mm, "16UC1"))


@pytest.mark.parametrize("codec", ["png", "jpeg"])
def test_compressed_bag_reads_like_the_raw_bag(tmp_path, codec):
    _write(tmp_path / "bag", codec)
    raw = list(BagReader(tmp_path / "bag", RAW).samples())
    comp = list(BagReader(tmp_path / "bag", COMPRESSED).samples())
    assert len(raw) == len(comp) == 3
    assert BagReader(tmp_path / "bag", COMPRESSED).frame_ids() == {"color": "cc", "thermal": "tt", "depth": "dd"}
    for r, c in zip(raw, comp):
        assert c.stamp == r.stamp and c.thermal_stamp == r.thermal_stamp and c.depth_stamp == r.depth_stamp
        assert c.rgb.shape == r.rgb.shape and c.rgb.dtype == np.uint8
        if codec == "png":
            assert np.array_equal(c.rgb, r.rgb)
        else:
            assert 0 < np.abs(c.rgb.astype(int) - r.rgb).max() <= JPEG_MAX_ABS_ERROR
        assert c.thermal_encoding == r.thermal_encoding == "mono16"
        assert c.thermal.dtype == np.uint16 and np.array_equal(c.thermal, r.thermal)
        assert c.depth.dtype == np.float32 and np.isnan(c.depth[0, 0])
        np.testing.assert_array_equal(c.depth, r.depth)


def test_undecodable_compressed_image_is_a_bag_read_error(tmp_path):
    with BagWriter(tmp_path / "bag") as w:
        w.write_compressed_image(COMPRESSED.color_image, 1.0, "cc", "rgb8; jpeg compressed bgr8", b"\xff\xd8garbage")
    with pytest.raises(BagReadError, match="color image at 1.000000: .*could not decode"):
        list(BagReader(tmp_path / "bag", COMPRESSED).samples())
