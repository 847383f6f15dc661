"""Training data: a tiny simulated contract bag -> registered, letterboxed cache -> augmented batches/targets."""
import numpy as np
import pytest

from tracker.network.dataset import AugmentConfig, BagSpec, ClipBatchSampler, FrameCache, augment_frame
from tracker.network.heads import lid_bin_centres
from tracker.network.targets import build_targets


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    pytest.importorskip("rosbags")
    root = tmp_path_factory.mktemp("netdata")
    c = FrameCache.build([BagSpec("night", 7, 0.4)], root, 160, 128, 2, "t", progress=False)
    again = FrameCache.build([BagSpec("night", 7, 0.4)], root, 160, 128, 2, "t", progress=False)  # from cache
    assert np.array_equal(again.a["rgb"], c.a["rgb"]) and len(list(root.glob("cache_t_*.npz"))) == 1
    return c


def test_cache_contents(cache):
    n = len(cache)
    assert n >= 3
    assert cache.a["rgb"].shape == (n, 128, 160, 3) and cache.a["rgb"].dtype == np.uint8
    assert cache.a["thermal"].dtype == np.uint16 and cache.a["depth"].shape == (n, 128, 160)
    assert cache.a["rgb"][:, 120:].max() == 0  # 640x480 letterboxed into 160x120 + padding
    assert cache.a["avail"][:, 0].all() and cache.conditions == ["night"]
    objs = np.concatenate([cache.objects(i) for i in range(n)])
    assert len(objs) > 0 and set(np.unique(objs[:, 4])) <= {0.0, 1.0}
    assert np.nanmax(objs[:, 7]) > 1.0  # ranges from gt3d, metres
    th = cache.a["thermal"][0]
    assert th[th > 0].mean() > 25000  # mono16 kelvin*100 counts, registered


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
