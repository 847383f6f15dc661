"""Training a 2-channel thermal model: the relative channel's augmentation (counts-per-kelvin error, dropping it
as for AGC mono8), a 1-channel model's augmentation unchanged, and tracker-train --init from a 1-channel
checkpoint with --thermal-channels 2."""
import json
from dataclasses import replace

import numpy as np
import pytest

from train_helpers import _root, sim_bag, tiny_config_file, weights
from tracker.network.dataset import AugmentConfig, augment_frame
from tracker.network.preprocess import DEFAULT_NORMALISATION

pytest.importorskip("rosbags")
TWO = replace(DEFAULT_NORMALISATION, thermal_channels=2)


@pytest.fixture(scope="module")
def cache():
    from tracker.network.cache import FrameCache
    from tracker.network.sources import BagSource, node_registration
    return FrameCache.from_sources([BagSource(sim_bag(), "night")], _root() / "cache", 64, 64, 1,
                                   node_registration())


def _aug(**over):
    """No dropout of whole modalities, no flip, no mis-registration: only what the test varies."""
    return AugmentConfig(crop_w=64, crop_h=64, p_drop_rgb=0.0, p_drop_thermal=0.0, p_drop_depth=0.0, p_flip=0.0,
                         thermal_shift_px=0, **over)


def _frame(cache, aug, norm=TWO, seed=0):
    i = next(i for i in range(len(cache)) if cache.frame(i)[2] == 0)  # a mono16 frame
    return augment_frame(cache, i, np.random.default_rng(seed), aug, norm)[0]["thermal"]


def test_relative_channel_augmentation(cache):
    plain = _frame(cache, _aug(thermal_kelvin_gain=(1.0, 1.0), p_drop_thermal_relative=0.0))
    assert plain.shape == (2, 64, 64) and np.abs(plain[1]).max() > 0.1
    lo, hi = DEFAULT_NORMALISATION.thermal_relative_clip
    gained = _frame(cache, _aug(thermal_kelvin_gain=(1.05, 1.05), p_drop_thermal_relative=0.0))
    inside = (plain[1] > lo / 1.05) & (plain[1] < hi / 1.05)
    assert np.allclose(gained[1][inside], 1.05 * plain[1][inside], atol=1e-3)
    dropped = _frame(cache, _aug(thermal_kelvin_gain=(1.0, 1.0), p_drop_thermal_relative=1.0))
    assert np.all(dropped[1] == 0) and np.abs(dropped[0]).max() > 0
    other_pct = _frame(cache, _aug(thermal_kelvin_gain=(1.0, 1.0), p_drop_thermal_relative=0.0,
                                   thermal_low_percentile=(4.0, 5.0), thermal_high_percentile=(95.0, 96.0)))
    assert np.array_equal(other_pct[1], plain[1]) and not np.array_equal(other_pct[0], plain[0])


def test_one_channel_augmentation_ignores_the_relative_settings_and_draws_nothing_more(cache):
    """A 1-channel model's batches are what they were before the relative channel: same values, same draws."""
    outs = []
    for aug in (AugmentConfig(crop_w=64, crop_h=64),
                AugmentConfig(crop_w=64, crop_h=64, thermal_kelvin_gain=(0.5, 2.0), p_drop_thermal_relative=1.0)):
        rng = np.random.default_rng(3)
        inp, obj = augment_frame(cache, 0, rng, aug, DEFAULT_NORMALISATION)
        outs.append((inp, obj, rng.random()))
    (a, oa, ra), (b, ob, rb) = outs
    assert a["thermal"].shape == (1, 64, 64) and ra == rb and np.array_equal(oa, ob)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_train_two_channels_from_a_one_channel_checkpoint(tmp_path, capsys):
    from tracker.network.model import THERMAL_INPUT_WEIGHT
    from tracker.network.train import main

    cfg = tiny_config_file(tmp_path, steps=4, checkpoint_every=0)
    cli = lambda *a: main(["--config", str(cfg), "--no-progress", *map(str, a)])  # noqa: E731
    bag = sim_bag()
    assert cli(bag, "--out", tmp_path / "one", "--steps", 2) == 0
    assert cli(bag, "--init", tmp_path / "one" / "last.pt", "--thermal-channels", 2, "--out", tmp_path / "two") == 0
    m = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert m["model"]["thermal_channels"] == 2 and m["init"].endswith("last.pt")
    w = weights(tmp_path / "two" / "last.pt")[THERMAL_INPUT_WEIGHT]
    assert w.shape[1] == 2 and w[:, 1].abs().max() > 0  # zero at init, trained on the relative channel since
    assert cli(bag, "--init", tmp_path / "two" / "last.pt", "--thermal-channels", 1, "--out", tmp_path / "x") == 2
    assert "model config differs" in capsys.readouterr().err
