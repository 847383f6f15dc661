"""Batches streamed by DataLoader workers (spawned processes) are the batches of the training process: a
batch is a function of the seed and the step only."""
import pickle

import numpy as np
import pytest
import torch

from train_helpers import sim_bag
from tracker.network.cache import FrameCache
from tracker.network.dataset import AugmentConfig
from tracker.network.heads import lid_bin_centres
from tracker.network.loader import StepBatches, make_loader
from tracker.network.sources import BagSource, node_registration

pytest.importorskip("rosbags")


def _batches(tmp_path, part=None):
    cache = FrameCache.from_sources([BagSource(sim_bag(), "night")], tmp_path / "cache", 64, 64, 1,
                                    node_registration())
    return StepBatches(cache, 2, 2, 4, AugmentConfig(crop_w=64, crop_h=64), 7, lid_bin_centres(6, 0.5, 60.0), part)


def _same(x, y):
    assert x[0] == y[0]
    for a, b in zip(x[1:3], y[1:3]):
        assert set(a) == set(b)
        for k in a:  # bit-identical (NaN: no range target)
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, equal_nan=True, msg=k)
    assert torch.equal(x[3], y[3])


def test_workers_give_the_same_batches_in_the_same_order(tmp_path):
    ds = _batches(tmp_path)
    assert len(pickle.dumps(ds)) < 200_000  # the memory maps do not travel with the dataset
    inline = list(make_loader(ds, 1, 4, workers=0))
    spawned = list(make_loader(ds, 1, 4, workers=2, start_method="spawn"))
    assert [b[0] for b in spawned] == [1, 2, 3]
    for x, y in zip(inline, spawned):
        _same(x, y)
    assert not torch.equal(inline[0][1]["rgb"], inline[1][1]["rgb"])  # different steps, different batches


def test_a_process_slice_is_that_part_of_the_global_batch(tmp_path):
    whole = _batches(tmp_path)[5]
    halves = [_batches(tmp_path, slice(0, 2))[5], _batches(tmp_path, slice(2, 4))[5]]
    for i in (1, 2):
        for k in whole[i]:
            torch.testing.assert_close(whole[i][k], torch.cat([h[i][k] for h in halves]), rtol=0, atol=0,
                                       equal_nan=True, msg=k)
    assert np.array_equal(whole[3].numpy(), torch.cat([h[3] for h in halves]).numpy())
