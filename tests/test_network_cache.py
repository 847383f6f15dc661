"""The on-disk frame cache: written once per bag and preprocessing, keyed by the bag's content, read through
memory maps (also in worker processes), never seen half-written."""
import os
import pickle
import shutil

import numpy as np
import pytest

from train_helpers import vtmot_bag
from tracker.network.cache import BagCache, FrameCache, cache_key
from tracker.network.sources import BagSource, node_registration

pytest.importorskip("rosbags")


def _open(bag, cache_dir, **kw):
    return FrameCache.from_sources([BagSource(bag, "external")], cache_dir, 64, 64, 1, node_registration(), **kw)


def test_written_once_and_keyed_by_bag_content(tmp_path):
    bag = tmp_path / "bag"
    shutil.copytree(vtmot_bag(), bag)
    c = _open(bag, tmp_path / "cache")
    folder = c.bags[0].folder
    stamp = os.stat(folder / "meta.json").st_mtime_ns
    again = _open(bag, tmp_path / "cache")
    assert os.stat(folder / "meta.json").st_mtime_ns == stamp and again.bags[0].folder == folder
    assert len(c) == 4 and c.a["avail"].tolist() == [[True, True, False]] * 4  # visible + infrared, no depth
    assert c.frame(0)[2] == 1  # mono8 thermal family
    mcap = next(p for p in bag.iterdir() if p.suffix == ".mcap")
    with open(mcap, "ab") as f:
        f.write(b"\0")  # other content, other key (the bag still reads)
    assert cache_key(bag, 64, 64, 1, node_registration(), "uint16_mm") != folder.name.rsplit("-", 1)[1]
    assert cache_key(vtmot_bag(), 64, 64, 2, node_registration(), "uint16_mm") != \
        cache_key(vtmot_bag(), 64, 64, 1, node_registration(), "uint16_mm")
    assert not [p for p in (tmp_path / "cache").iterdir() if ".tmp-" in p.name]


def test_memory_maps_do_not_travel_by_pickle(tmp_path):
    c = _open(vtmot_bag(), tmp_path / "cache", storage="float16")
    _ = c.frame(0)  # maps opened
    blob = pickle.dumps(c)
    assert len(blob) < 20_000  # 4 frames of 64x64 RGB alone are 49 kB
    back = pickle.loads(blob)
    assert back.bags[0]._maps is None
    for x, y in zip(back.frame(3), c.frame(3)):
        assert np.array_equal(x, y, equal_nan=True)
    assert isinstance(BagCache(c.bags[0].folder).arrays["depth"], np.memmap)
    assert BagCache(c.bags[0].folder).arrays["depth"].dtype == np.float16
