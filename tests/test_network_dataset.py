"""Training data: a tiny simulated contract bag -> registered, letterboxed on-disk cache -> augmented
batches/targets; cached frames give the Detector's inputs."""
import numpy as np
import pytest

from pathlib import Path

from network_helpers import FakeMetaBackend
from tracker.network.dataset import AugmentConfig, BagSpec, ClipBatchSampler, FrameCache, augment_frame
from tracker.network.detector import Detector
from tracker.network.heads import lid_bin_centres
from tracker.network.preprocess import NormalisationConfig
from tracker.network.targets import build_targets

ROOT = Path(__file__).resolve().parents[1]
SPEC = BagSpec("night", 7, 0.4)


def _folders(root):
    return [p for p in (root / "cache").iterdir() if (p / "meta.json").is_file()]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    pytest.importorskip("rosbags")
    root = tmp_path_factory.mktemp("netdata")
    c = FrameCache.build([SPEC], root, 160, 128, 2, "t", progress=False)
    again = FrameCache.build([SPEC], root, 160, 128, 2, "t", progress=False)  # from cache
    assert np.array_equal(again.frame(1)[0], c.frame(1)[0]) and len(_folders(root)) == 1
    c.root = root
    return c


def test_cache_contents(cache):
    n = len(cache)
    assert n >= 3
    arr = cache.bags[0].arrays
    assert arr["rgb"].shape == (n, 128, 160, 3) and arr["rgb"].dtype == np.uint8
    assert arr["thermal"].dtype == np.uint16 and arr["depth"].shape == (n, 128, 160)
    assert arr["depth"].dtype == np.uint16  # default storage: millimetres
    assert isinstance(arr["rgb"], np.memmap)
    assert arr["rgb"][:, 120:].max() == 0  # 640x480 letterboxed into 160x120 + padding
    assert cache.a["avail"][:, 0].all() and cache.conditions == ["night"]
    objs = np.concatenate([cache.objects(i) for i in range(n)])
    assert len(objs) > 0 and set(np.unique(objs[:, 4])) <= {0.0, 1.0}
    assert np.nanmax(objs[:, 7]) > 1.0  # ranges from gt3d, metres
    rgb, th, enc, dep, avail = cache.frame(0)
    assert th[th > 0].mean() > 25000  # mono16 kelvin*100 counts, registered
    assert dep.dtype == np.float32 and np.isnan(dep[120:]).all() and np.nanmin(dep) > 0.1


def test_augmented_batch_and_targets(cache):
    rng = np.random.default_rng(0)
    aug = AugmentConfig(crop_w=128, crop_h=96)
    sampler = ClipBatchSampler(cache, clips=1, frames=3, window=10, seed=0)
    idx = sampler.sample()
    assert len(idx) == 3
    bins = lid_bin_centres(6, 0.5, 60.0)
    flags = []
    for i in idx:
        inp, obj = augment_frame(cache, i, rng, aug)
        assert inp["rgb"].shape == (3, 96, 128) and inp["depth"].shape == (2, 96, 128)
        assert inp["modality"].any() and 0 <= inp["rgb"].min() and inp["rgb"].max() <= 1
        flags.append(inp["modality"])
        t = build_targets(obj, 128, 96, 2, bins)
        assert t["heatmap"].shape == (2, 24, 32)
    rgb_only = AugmentConfig(crop_w=128, crop_h=96, modalities=(True, False, False), p_drop_rgb=0.0)
    inp, _ = augment_frame(cache, idx[0], rng, rgb_only)
    assert inp["modality"].tolist() == [1, 0, 0] and inp["thermal"].max() == 0


def _node_registration():
    """What the shipped node YAML makes the node run (parsed as the node parses it)."""
    from tracker.nodes.config import load_node_config
    return load_node_config(ROOT / "config" / "tracker_node.yaml").processor.registration


def test_training_registers_as_the_shipped_node_does():
    from tracker.network.sources import node_registration
    assert node_registration() == _node_registration()


def test_training_registers_as_a_node_yaml_with_its_own_registration_does(tmp_path):
    """A node YAML that moves the thermal plane: training reads it as the node does, the rest of the defaults
    kept; a bad value there is the node's error, naming the file."""
    import yaml

    from tracker.common.config import ConfigError
    from tracker.network.sources import node_registration
    from tracker.nodes.config import load_node_config
    node = yaml.safe_load((ROOT / "config" / "tracker_node.yaml").read_text())
    node["registration"] = {"assumed_distance_m": 35.0}
    path = tmp_path / "far.yaml"
    path.write_text(yaml.safe_dump(node))
    reg = node_registration(path)
    assert reg == load_node_config(path).processor.registration
    assert reg.assumed_distance_m == 35.0 and reg.max_depth_m == node_registration().max_depth_m
    path.write_text(yaml.safe_dump({"registration": {"assumed_distance_m": -1.0}}))
    with pytest.raises(ConfigError, match="far.yaml: registration.assumed_distance_m"):
        node_registration(path)


def _detector_inputs(root, index: int, norm):
    """What the Detector feeds a network of normalisation ``norm`` for RGB frame ``index`` of the bag, registered
    as the node does."""
    from tracker.data.reader import BagReader
    from tracker.pipeline.registration import Registrar
    reader = BagReader(SPEC.bag_path(root))
    reg = Registrar(reader.cameras, reader.extrinsics, _node_registration())
    s = [s for s in reader.samples() if s.rgb is not None][index]
    assert s.thermal is not None and s.depth is not None
    depth_rgb = reg.depth_to_rgb(s.depth)
    thermal_rgb = reg.thermal_to_rgb(s.thermal, depth_rgb)
    det = Detector(FakeMetaBackend(input_width=160, input_height=128, normalisation=norm.to_meta()))
    return {k: v[0] for k, v in det.preprocess(s.rgb, thermal_rgb, s.thermal_encoding, depth_rgb)[0].items()}


@pytest.mark.parametrize("thermal_channels", [1, 2])
def test_training_inputs_are_the_detectors_inputs_of_the_same_frame(cache, thermal_channels):
    """Frame 1 of the cache (bag RGB frame 2: stride 2), un-augmented, is what the Detector feeds the network
    for that bag frame registered as the node registers it: identical arrays with float32 depth storage; with
    the default millimetre storage identical except inverse depth, within the millimetre rounding."""
    norm = NormalisationConfig(thermal_channels=thermal_channels)
    inference = _detector_inputs(cache.root, 2, norm)
    exact = FrameCache.build([SPEC], cache.root, 160, 128, 2, "t", progress=False, storage="float32")
    training = exact.network_inputs(1, norm=norm)
    assert training["thermal"].shape[0] == thermal_channels
    for k in ("rgb", "thermal", "depth", "modality"):
        assert np.array_equal(inference[k], training[k]), k
    assert training["modality"].tolist() == [1, 1, 1] and training["depth"][1].any()
    compact = cache.network_inputs(1, norm=norm)
    for k in ("rgb", "thermal", "modality"):
        assert np.array_equal(inference[k], compact[k]), k
    assert np.array_equal(inference["depth"][1], compact["depth"][1])  # same valid pixels
    inv = inference["depth"][0]
    bound = 0.5e-3 * inv ** 2 * 1.01 + 1e-7  # |d(1/d)| <= 0.5 mm / d^2 (depth_ref 1 m)
    assert (np.abs(compact["depth"][0] - inv) <= bound).all()


def test_augmentation_settings_are_config():
    from tracker.common.config import ConfigError, from_mapping
    cfg = from_mapping(AugmentConfig, {"gamma": [0.9, 1.1], "p_flip": 0.0}, where="augment")
    assert cfg.gamma == (0.9, 1.1) and cfg.p_flip == 0.0 and cfg.brightness_gain == (0.5, 1.5)
    with pytest.raises(ConfigError, match=r"augment: gamma = \[1.2, 0.8\]: low must not exceed high"):
        from_mapping(AugmentConfig, {"gamma": [1.2, 0.8]}, where="augment")
    with pytest.raises(ConfigError, match=r"augment.p_blur = 1.5 is out of range"):
        from_mapping(AugmentConfig, {"p_blur": 1.5}, where="augment")


def test_no_flip_no_shift_keeps_the_frame(cache):
    """With flip, shift, photometric, depth and thermal jitter switched off, a crop of the full frame is the
    un-augmented input (the augmentation is the only train/inference difference)."""
    inp, obj = augment_frame(cache, 0, np.random.default_rng(0), _still(cache))
    ref = cache.network_inputs(0)
    assert np.abs(inp["rgb"] - ref["rgb"]).max() <= 1 / 255 + 1e-6  # float round trip of the jitter: 1 count
    for k in ("thermal", "depth", "modality"):
        assert np.allclose(inp[k], ref[k], atol=1e-6), k
    assert np.allclose(obj, cache.objects(0), equal_nan=True)


def _still(cache, **over):
    """Augmentation with every random change off but the crop (and what ``over`` sets)."""
    H, W = cache.shape
    return AugmentConfig(**{**dict(crop_w=W, crop_h=H, p_drop_rgb=0.0, p_drop_thermal=0.0, p_drop_depth=0.0,
                                   thermal_shift_px=0, brightness_gain=(1.0, 1.0), brightness_offset=(0.0, 0.0),
                                   gamma=(1.0, 1.0), p_blur=0.0, noise_sigma_max=0.0, p_depth_scale=0.0,
                                   thermal_low_percentile=(2.0, 2.0), thermal_high_percentile=(98.0, 98.0),
                                   thermal_gain=(1.0, 1.0), p_flip=0.0), **over})


def test_zoom_resizes_a_window_and_its_boxes(cache):
    """zoom 2: the crop is a half-size window resized to the crop; boxes are twice as large, in the window's
    coordinates; depth is not interpolated (a camera of twice the focal length at the same place)."""
    import cv2
    H, W = cache.shape
    i = max(range(len(cache)), key=lambda k: len(cache.objects(k)))
    inp, obj = augment_frame(cache, i, np.random.default_rng(3), _still(cache, p_zoom=1.0, zoom=(2.0, 2.0)))
    orig = cache.objects(i)
    assert len(orig) > 0
    assert np.allclose(obj[:, 2] - obj[:, 0], 2 * (orig[:, 2] - orig[:, 0]))
    assert np.allclose(obj[:, 3] - obj[:, 1], 2 * (orig[:, 3] - orig[:, 1]))
    assert np.array_equal(obj[:, 4:], orig[:, 4:])  # class, id, visibility, range unchanged
    x0, y0 = orig[0, 0] - obj[0, 0] / 2, orig[0, 1] - obj[0, 1] / 2
    assert x0 == round(x0) and 0 <= x0 <= W // 2 and 0 <= y0 <= H // 2
    x0, y0 = int(round(x0)), int(round(y0))
    from tracker.network.cache import cached_inputs
    from tracker.network.preprocess import DEFAULT_NORMALISATION
    rgb, th, enc, dep, avail = cache.frame(i)
    win = (slice(y0, y0 + H // 2), slice(x0, x0 + W // 2))
    want = cached_inputs(cv2.resize(rgb[win], (W, H), interpolation=cv2.INTER_AREA).astype(np.float32),
                         cv2.resize(th[win], (W, H), interpolation=cv2.INTER_LINEAR), enc,
                         cv2.resize(dep[win], (W, H), interpolation=cv2.INTER_NEAREST), avail,
                         DEFAULT_NORMALISATION, (2.0, 98.0), 1.0)
    assert np.abs(inp["rgb"] - want["rgb"]).max() <= 1 / 255 + 1e-6
    for k in ("thermal", "depth", "modality"):
        assert np.allclose(inp[k], want[k], atol=1e-6), k


def test_zoom_out_is_bounded_by_the_frame_and_off_draws_nothing(cache):
    still = _still(cache)
    a, oa = augment_frame(cache, 0, np.random.default_rng(5), still)
    b, ob = augment_frame(cache, 0, np.random.default_rng(5), _still(cache, p_zoom=1.0, zoom=(0.5, 0.5)))
    assert all(np.array_equal(a[k], b[k]) for k in a) and np.allclose(oa, ob, equal_nan=True)  # window = frame
    c, _ = augment_frame(cache, 0, np.random.default_rng(5), _still(cache, p_zoom=0.0, zoom=(2.0, 2.0)))
    assert all(np.array_equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("thermal_channels", [1, 2])
@pytest.mark.parametrize("encoding", ["mono16", "mono8", "8UC1", "16UC1"])
def test_cached_frame_encodes_like_the_detector(encoding, thermal_channels):
    """Any thermal encoding: the cache step + cached_inputs give the Detector's arrays (an AGC 8UC1 image is
    normalised as mono8 in both, a 16UC1 one as mono16)."""
    from tracker.network.cache import ENC_CODES, cached_inputs, decode_depth_storage, storage_frame
    from tracker.network.inputs import letterbox_images
    from tracker.network.preprocess import Letterbox
    g = np.random.default_rng(4)
    rgb = g.integers(0, 255, (96, 128, 3), dtype=np.uint8)
    eight = encoding in ("mono8", "8UC1")
    thermal = (g.integers(1, 255, (96, 128)) if eight else 29000 + g.integers(0, 900, (96, 128)))
    thermal = thermal.astype(np.uint8 if eight else np.uint16)
    thermal[:, :20] = 0  # outside the thermal view
    depth = (0.2 + 10 * g.random((96, 128))).astype(np.float32)
    depth[g.random((96, 128)) < 0.3] = np.nan
    lb = Letterbox.fit(128, 96, 64, 64)
    rgb_l, th_l, dep_l = letterbox_images(lb, rgb, thermal, depth)
    rgb_c, th_c, enc, dep_c, avail = storage_frame(rgb_l, th_l, encoding, dep_l, 64, 64, "float32")
    assert enc == ENC_CODES["mono8" if eight else "mono16"] and th_c.dtype == np.uint16
    norm = NormalisationConfig(thermal_channels=thermal_channels)
    training = cached_inputs(rgb_c, th_c, enc, decode_depth_storage(dep_c, "float32"), avail, norm)
    inference = Detector(FakeMetaBackend(normalisation=norm.to_meta())).preprocess(rgb, thermal, encoding, depth)[0]
    assert training["thermal"].shape[0] == thermal_channels
    for k in ("rgb", "thermal", "depth", "modality"):
        assert np.array_equal(inference[k][0], training[k]), k


def test_depth_storage_round_trip():
    from tracker.network.cache import decode_depth_storage, encode_depth_storage
    d = np.array([[np.nan, 0.3004, 12.3456, 65.535, 70.0]], np.float32)
    mm = encode_depth_storage(d, "uint16_mm")
    assert mm.dtype == np.uint16 and mm.tolist() == [[0, 300, 12346, 65535, 0]]  # beyond 16UC1: no data
    back = decode_depth_storage(mm, "uint16_mm")
    assert np.isnan(back[0, [0, 4]]).all() and np.allclose(back[0, 1:4], [0.3, 12.346, 65.535])
    f16 = decode_depth_storage(encode_depth_storage(d, "float16"), "float16")
    assert np.isnan(f16[0, 0]) and np.allclose(f16[0, 1:], d[0, 1:], rtol=1e-3)
