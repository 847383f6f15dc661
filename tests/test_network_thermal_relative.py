"""The second thermal channel that keeps temperature (``thermal_channels: 2``): its values, mono8 zeros, its
augmentation, the inputs of the shipped (2-channel) model, export + ORT through the factory, and
``--init`` from a 1-channel checkpoint."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from network_helpers import tiny_net
from tracker.common.config import ConfigError
from tracker.data.contract import kelvin_to_counts
from tracker.network.inputs import encode_inputs
from tracker.network.preprocess import (DEFAULT_NORMALISATION, NormalisationConfig, encode_depth, normalise_thermal,
                                        rgb_tensor, thermal_values)

ROOT = Path(__file__).resolve().parents[1]
TWO = replace(DEFAULT_NORMALISATION, thermal_channels=2)
C0 = 273.15


def _scene(h=48, w=64, bg_c=15.0, person_c=33.0, seed=0):
    """mono16 counts: a 15 C background (+-0.2 K noise), a 33 C person, a column without thermal reading."""
    k = C0 + bg_c + 0.2 * np.random.default_rng(seed).standard_normal((h, w))
    k[10:30, 20:30] = C0 + person_c
    counts = kelvin_to_counts(k)
    counts[:, :4] = 0
    return counts


def test_relative_channel_is_kelvin_above_the_median_and_ignores_the_ambient():
    th = _scene()
    x = encode_inputs(thermal=th, thermal_encoding="mono16", norm=TWO)["thermal"]
    assert x.shape == (2, 48, 64)
    assert np.allclose(x[1, 10:30, 20:30], (33.0 - 15.0) / TWO.thermal_relative_scale_k, atol=0.02)  # 1.8
    assert abs(float(np.median(x[1, :, 4:]))) < 0.01 and np.all(x[:, :, :4] == 0)  # invalid pixels: 0
    warmer = encode_inputs(thermal=th + np.where(th > 0, 2000, 0).astype(np.uint16), norm=TWO)["thermal"]  # +20 K
    assert np.allclose(warmer, x, atol=1e-4)
    hot = encode_inputs(thermal=_scene(person_c=80.0), norm=TWO)["thermal"][1]
    assert hot.max() == TWO.thermal_relative_clip[1]
    gained = encode_inputs(thermal=th, norm=TWO, thermal_relative_gain=1.1)["thermal"]
    assert np.allclose(gained[1, 10:30, 20:30], 1.1 * 1.8, atol=0.02) and np.array_equal(gained[0], x[0])


def test_relative_channel_is_zero_for_agc_mono8_and_the_first_channel_is_the_one_channel_input():
    m8 = np.clip(np.random.default_rng(1).integers(60, 90, (48, 64)), 1, 255).astype(np.uint8)
    m8[10:30, 20:30] = 240
    two = encode_inputs(thermal=m8, thermal_encoding="mono8", norm=TWO)["thermal"]
    one = encode_inputs(thermal=m8, thermal_encoding="mono8")["thermal"]
    assert one.shape == (1, 48, 64) and np.all(two[1] == 0) and np.array_equal(two[:1], one)
    th = _scene()
    assert np.array_equal(encode_inputs(thermal=th, norm=TWO)["thermal"][:1], encode_inputs(thermal=th)["thermal"])
    assert encode_inputs(shape=(48, 64), norm=TWO)["thermal"].shape == (2, 48, 64)  # no thermal: zeros


def test_relative_channel_does_not_depend_on_the_percentiles_augmentation():
    th = _scene()
    a = encode_inputs(thermal=th, norm=TWO)["thermal"]
    b = encode_inputs(thermal=th, norm=TWO, thermal_percentiles=(0.5, 95.0))["thermal"]
    assert np.array_equal(a[1], b[1]) and not np.array_equal(a[0], b[0])


def test_metadata_round_trip_and_shipped_metadata_is_two_channel():
    import json
    shipped = json.loads((ROOT / "models" / "embedded.json").read_text())["normalisation"]
    assert NormalisationConfig.from_meta(shipped) == TWO
    other = replace(TWO, thermal_relative_scale_k=8.0, thermal_relative_clip=(-1.0, 3.0))
    meta = other.to_meta()["thermal"]
    assert meta["channels"] == 2 and len(meta["layout"]) == 2 and meta["relative"]["scale_k"] == 8.0
    assert "zeros" in meta["relative"]["mono8"]
    assert NormalisationConfig.from_meta(other.to_meta()) == other
    assert "relative" not in DEFAULT_NORMALISATION.to_meta()["thermal"]


def _frame():
    g = np.random.default_rng(16)
    rgb = g.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    k = 288.15 + 0.5 * g.standard_normal((480, 640))
    k[200:380, 300:360] = 306.15
    th16 = np.rint(k * 100).astype(np.uint16)
    th16[:, :8] = 0
    th8 = np.clip((k - 285) / 25 * 255, 0, 255).astype(np.uint8)
    dep = (2 + 20 * g.random((480, 640))).astype(np.float32)
    dep[:40] = np.nan
    return rgb, th16, th8, dep


def test_inputs_of_the_shipped_model_follow_its_metadata():
    """The shipped (2-channel) model through the factory: channel 0 is the percentile formula of its metadata
    written out, channel 1 kelvin above the frame median / scale_k for mono16 and zeros for AGC mono8; the
    model uses the second channel (zeroing it changes the heatmap)."""
    pytest.importorskip("onnxruntime")
    from tracker.network.factory import make_detector
    from tracker.network.preprocess import Letterbox
    det = make_detector({"order": ["onnxruntime"], "device": "cpu", "threads": 1}, {"score_threshold": 0.05},
                        str(ROOT / "models" / "embedded.onnx"))
    assert det.normalisation == TWO
    rgb, th16, th8, dep = _frame()
    lb = Letterbox.fit(640, 480, 320, 256)
    for th, enc in ((th16, "mono16"), (th8, "mono8")):
        inp, _, _ = det.preprocess(rgb, th, enc, dep)
        assert inp["thermal"].shape == (1, 2, 256, 320)
        thl = lb.apply(th)
        vals, fam = thermal_values(thl, enc)
        assert np.array_equal(inp["thermal"][0, 0], normalise_thermal(vals, fam, thl > 0))
        assert np.array_equal(inp["rgb"][0], rgb_tensor(lb.apply(rgb)))
        assert np.array_equal(inp["depth"][0], encode_depth(lb.apply(dep, nearest=True, fill=np.nan)))
        rel = inp["thermal"][0, 1]
        if enc == "mono8":
            assert not rel.any()
            continue
        body = lb.apply(np.pad(np.ones((180, 60), np.uint8), ((200, 100), (300, 280))), nearest=True) > 0
        assert np.allclose(np.median(rel[body]), 18.0 / TWO.thermal_relative_scale_k, atol=0.05)  # 33 C on 15 C
        assert abs(float(np.median(rel[(thl > 0) & ~body]))) < 0.05
        no_rel = {**inp, "thermal": inp["thermal"] * np.array([1, 0], np.float32)[None, :, None, None]}
        assert not np.allclose(det.backend.infer(inp)["heatmap"], det.backend.infer(no_rel)["heatmap"])
    det.close()


def test_two_channel_model_exports_and_runs_on_onnxruntime_through_the_factory(tmp_path):
    pytest.importorskip("onnxruntime")
    import json

    from tracker.network.export import export_onnx, parity
    from tracker.network.factory import make_detector
    net = tiny_net(4, thermal_channels=2)
    path, meta_path = export_onnx(net, tmp_path / "two.onnx", {"command": "test"})
    meta = json.loads(meta_path.read_text())
    assert meta["inputs"]["thermal"] == [1, 2, 64, 64] and meta["model_config"]["thermal_channels"] == 2
    assert meta["normalisation"]["thermal"]["channels"] == 2
    d = parity(net, path)
    assert max(v for k, v in d.items() if k != "peak_mismatch") < 2e-3
    det = make_detector({"order": ["onnxruntime"], "device": "cpu", "threads": 1},
                        {"score_threshold": 0.0, "top_k": 5, "min_box_px": 0.0}, str(path))
    rgb = np.random.default_rng(2).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    inp, _, _ = det.preprocess(rgb, _scene(), "mono16", None)
    assert inp["thermal"].shape == (1, 2, 64, 64) and inp["thermal"][0, 1].max() > 1.5
    assert np.all(det.preprocess(rgb, (_scene() // 100).astype(np.uint8), "mono8", None)[0]["thermal"][0, 1] == 0)
    assert len(det.detect(rgb, _scene(), "mono16", None)) == 5
    no_rel = {**inp, "thermal": inp["thermal"] * np.array([1, 0], np.float32)[None, :, None, None]}
    assert not np.allclose(det.backend.infer(inp)["heatmap"], det.backend.infer(no_rel)["heatmap"])  # it is used
    det.close()


def test_metadata_whose_inputs_disagree_with_the_thermal_channels_is_a_model_error():
    from network_helpers import FakeMetaBackend
    from tracker.backends import ModelError
    from tracker.network.detector import Detector
    with pytest.raises(ModelError, match="thermal"):
        Detector(FakeMetaBackend(normalisation=TWO.to_meta(), inputs={"thermal": [1, 1, 64, 64]}))


def _outputs(net, thermal):
    from tracker.network.export import torch_outputs
    g = np.random.default_rng(5)
    x = {"rgb": g.random((1, 3, 64, 64), np.float32), "thermal": thermal,
         "depth": g.random((1, 2, 64, 64), np.float32), "modality": np.ones((1, 3), np.float32)}
    return torch_outputs(net, x)


def test_init_of_a_two_channel_model_from_a_one_channel_checkpoint(tmp_path):
    from tracker.network.checkpoint import load_init, save_weights
    from tracker.network.model import THERMAL_INPUT_WEIGHT
    old = tiny_net(1)
    save_weights(tmp_path / "old.pt", old.cfg, old, 10)
    new = tiny_net(2, thermal_channels=2)
    load_init(new, tmp_path / "old.pt")
    w = new.state_dict()[THERMAL_INPUT_WEIGHT]
    assert w.shape[1] == 2 and torch.equal(w[:, :1], old.state_dict()[THERMAL_INPUT_WEIGHT]) and not w[:, 1].any()
    t0 = np.random.default_rng(6).random((1, 1, 64, 64), np.float32)
    rel = np.random.default_rng(7).random((1, 1, 64, 64), np.float32)
    a, b = _outputs(old, t0), _outputs(new.eval(), np.concatenate([t0, rel], 1))
    for k in a:
        assert np.allclose(a[k], b[k], atol=1e-6, rtol=1e-5), k
    with pytest.raises(ConfigError, match="model config differs"):  # anything else: a clear error
        load_init(tiny_net(0, thermal_channels=2, embedding_dim=4), tmp_path / "old.pt")
    save_weights(tmp_path / "two.pt", new.cfg, new, 10)
    with pytest.raises(ConfigError, match="model config differs"):  # no 2 -> 1
        load_init(tiny_net(0), tmp_path / "two.pt")


def test_a_shape_mismatch_other_than_the_thermal_input_names_the_tensor():
    from tracker.network.checkpoint import adapt_init_state
    net = tiny_net(0, thermal_channels=2)
    sd = dict(tiny_net(1).state_dict())
    key = "stems.rgb.base_layer.0.weight"
    sd[key] = sd[key][:, :2]
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        adapt_init_state(sd, net)
    with pytest.raises(ConfigError, match="missing"):
        adapt_init_state({k: v for k, v in tiny_net(1).state_dict().items() if "heads" not in k}, net)
