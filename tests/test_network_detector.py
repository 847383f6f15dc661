"""Detector: preprocessing as in training, modality flags, peak decoding mapped back to RGB pixels."""
import numpy as np
import pytest

from network_helpers import FakeMetaBackend, exported_tiny
from tracker.backends import ModelError
from tracker.core.types import Detections
from tracker.network.detector import Detector, DetectorConfig
from tracker.network.preprocess import Letterbox, NormalisationConfig, encode_depth, normalise_thermal, thermal_values


class FakeBackend(FakeMetaBackend):
    def infer(self, inputs):
        self.last = inputs
        h = w = 16
        out = {"heatmap": np.zeros((1, 2, h, w), np.float32), "size": np.zeros((1, 2, h, w), np.float32),
               "offset": np.zeros((1, 2, h, w), np.float32), "embedding": np.ones((1, 4, h, w), np.float32),
               "distance": np.full((1, 1, h, w), 12.5, np.float32)}
        out["heatmap"][0, 0, 5, 4] = 0.8
        out["size"][0, :, 5, 4] = (2.0, 4.0)
        out["heatmap"][0, 1, 1, 1] = 0.2  # below threshold
        return out


def test_boxes_back_in_rgb_pixels_and_flags():
    be = FakeBackend()
    det = Detector(be, DetectorConfig(score_threshold=0.3, top_k=10))
    rgb = np.full((96, 128, 3), 128, np.uint8)  # letterbox scale 0.5 into 64x64 (64x48 + padding)
    depth = np.full((96, 128), np.nan, np.float32)
    depth[:10] = 4.0
    d = det.detect(rgb, None, None, depth)
    assert isinstance(d, Detections) and len(d) == 1
    assert np.allclose(d.boxes[0], [24, 24, 40, 56])  # centre (16, 20) input px -> (32, 40), 8x16 -> 16x32
    assert d.classes.tolist() == [0] and np.allclose(d.distances, 12.5) and d.positions is None
    assert np.allclose(np.linalg.norm(d.embeddings, axis=1), 1.0)
    x = be.last
    assert x["modality"].tolist() == [[1.0, 0.0, 1.0]]
    assert x["rgb"].shape == (1, 3, 64, 64) and x["rgb"][0, :, 47].max() > 0 and x["rgb"][0, :, 48:].max() == 0
    assert np.allclose(x["depth"][0, 0, :5], 0.25) and x["depth"][0, 1, 10:].max() == 0


def test_needs_some_image_and_registered_sizes():
    det = Detector(FakeBackend())
    with pytest.raises(ValueError, match="at least one"):
        det.detect(None, None, None, None)
    with pytest.raises(ValueError, match="register"):
        det.detect(np.zeros((96, 128, 3), np.uint8), np.zeros((100, 128), np.uint16), "mono16", None)


def test_thermal_normalisation_mono16_and_mono8_agree_in_range():
    g = np.random.default_rng(0)
    kelvin = 290 + 5 * g.random((48, 64))
    kelvin[10:20, 10:20] = 308  # a person
    k16 = (kelvin * 100).astype(np.uint16)
    m8 = np.clip((kelvin - 288) / 22 * 255, 0, 255).astype(np.uint8)  # an AGC image of the same scene
    a = normalise_thermal(*thermal_values(k16, "mono16"))
    b = normalise_thermal(*thermal_values(m8, "mono8"))
    for n in (a, b):
        assert n.min() >= -1 and n.max() <= 2 and n[15, 15] >= 0.99 and np.median(n) < 0.5
    # offset of the whole scene (another day) changes nothing
    c = normalise_thermal(*thermal_values(k16 + 500, "mono16"))
    assert np.allclose(a, c, atol=1e-4)


def test_depth_encoding_and_letterbox():
    d = np.array([[np.nan, 2.0], [0.1, 100.0]], np.float32)
    e = encode_depth(d)
    assert np.allclose(e[0], [[0, 0.5], [0, 0]]) and np.allclose(e[1], [[0, 1], [0, 0]])
    lb = Letterbox.fit(640, 480, 320, 256)
    assert (lb.scale, lb.new_w, lb.new_h) == (0.5, 320, 240)
    assert np.allclose(lb.boxes_to_image(lb.boxes_to_input(np.array([[10.0, 20, 30, 40]]))), [[10, 20, 30, 40]])


def test_detector_on_onnxruntime_any_modality_subset(tmp_path):
    pytest.importorskip("onnxruntime")
    from tracker.backends import BackendConfig, create_backend
    path = exported_tiny()[1]
    det = Detector(create_backend(BackendConfig(order=("onnxruntime",), device="cpu", threads=1), path),
                   DetectorConfig(score_threshold=0.0, top_k=5, min_box_px=0.0))
    g = np.random.default_rng(1)
    rgb = g.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    th = (29000 + g.integers(0, 500, (48, 64))).astype(np.uint16)
    dep = (1 + 10 * g.random((48, 64))).astype(np.float32)
    for args in ((rgb, th, "mono16", dep), (None, th, "mono16", None), (rgb, None, None, None)):
        d = det.detect(*args)
        assert len(d) == 5 and d.embeddings.shape == (5, 8) and np.all(d.boxes[:, 2] <= 64)


def test_stride_and_normalisation_come_from_the_metadata():
    rgb = np.zeros((96, 128, 3), np.uint8)
    d = Detector(FakeBackend(stride=8)).detect(rgb)
    assert np.allclose(d.boxes[0], [48, 48, 80, 96])  # the stride-4 box [24, 24, 40, 56] doubled, clipped to 96
    norm = NormalisationConfig().to_meta()
    norm["depth"]["valid_range_m"] = [0.3, 3.0]  # a model whose depth input ends at 3 m
    be = FakeBackend(normalisation=norm)
    depth = np.full((96, 128), 4.0, np.float32)
    Detector(be).detect(rgb, None, None, depth)
    assert be.last["depth"].max() == 0 and be.last["modality"].tolist() == [[1.0, 0.0, 1.0]]


def test_metadata_without_stride_or_normalisation_is_a_model_error():
    for key in ("stride", "normalisation"):
        with pytest.raises(ModelError, match=key):
            Detector(FakeBackend(**{key: None}))


def test_describe():
    be = FakeBackend(class_names=["person", "vehicle", "bicycle"], training={"modalities": ["rgb"]})
    info = Detector(be, model_path="models/x.onnx").describe()
    assert (info.backend, info.device, info.model_path) == ("fake", "test CPU", "models/x.onnx")
    assert info.class_names == ("person", "vehicle", "bicycle") and info.input_size == (64, 64)
    assert info.stride == 4 and info.modalities == ("rgb",) and info.version_hash == "0123456789abcdef"
    with pytest.raises(AttributeError):
        info.stride = 8  # frozen
