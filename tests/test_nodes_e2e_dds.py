"""End to end over real DDS: player process -> tracker node process -> recorder (this process).

The tracker node runs the product code path (runner -> TrackerNode -> Processor -> real tracker core) with the
ground-truth test double in place of the network (tests/test_nodes_oracle_node.py)."""
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from tracker.data.reader import BagReader
from tracker.nodes.replay import replay_bag

from test_nodes_support import make_short_bag

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def short_bag(tmp_path_factory):
    # long enough that, after the thermal stop at 1.2 s, lockstep playback lasts several /diagnostics periods
    return make_short_bag(tmp_path_factory.mktemp("e2e") / "short", duration_s=4.5, seed=5)


def test_every_set_one_output_stable_ids_and_thermal_loss_reported(short_bag, tmp_path, monkeypatch):
    monkeypatch.setenv("ROS_DOMAIN_ID", str(random.randint(1, 200)))
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path / "log"))
    out = tmp_path / "out"
    st = replay_bag(short_bag, out, stops={"/camera/thermal/image_raw": 1.2},
                    node_command=[sys.executable, str(HERE / "test_nodes_oracle_node.py"), str(short_bag),
                                  "--use-sim-time"])
    # every synchronised input set -> exactly one /tracker/tracks with the source RGB stamp
    assert st["frames_in"] >= 35
    assert st["n_missing"] == 0, st["missing_stamps"]
    assert st["duplicate_stamps"] == 0
    assert st["frames_out"] == st["frames_in"]
    with BagReader(short_bag) as r:
        rgb_stamps = {s for _, s, _ in r.messages(["/camera/color/image_raw"])}
        gt = {s: msg for _, s, msg in r.messages(["/ground_truth/tracks_2d"])}
    with BagReader(out) as r:
        tracks = list(r.messages(["/tracker/tracks"]))
        tracks2d = list(r.messages(["/tracker/tracks_2d"]))
        diags = [m for _, _, m in r.messages(["/diagnostics"])]
    assert {s for _, s, _ in tracks} == rgb_stamps
    # ids of the simulated people are stable: each GT person is covered by one track id (2D IoU >= 0.5)
    ids = defaultdict(Counter)
    for _, s, msg in tracks2d:
        g = gt.get(s)
        if g is None:
            continue
        for d in msg.detections:
            best = max(g.detections, key=lambda x: _iou(_box(x), _box(d)), default=None)
            if best is not None and _iou(_box(best), _box(d)) >= 0.5:
                ids[best.id][d.id] += 1
    assert ids, "no track matched any ground-truth person"
    for gid, c in ids.items():
        top, n = c.most_common(1)[0]
        assert n >= 0.9 * sum(c.values()), f"GT {gid} switched ids: {c}"
    assert {d.id for _, _, m in tracks for d in m.detections} >= {d.id for _, _, m in tracks2d[-3:]
                                                                  for d in m.detections}
    # tracks stay alive after thermal stopped (last frames still carry tracks)
    assert all(len(m.detections) > 0 for _, _, m in tracks[-5:])
    # /diagnostics reported thermal silent while RGB was fine
    def status(m, name):
        for s in m.status:
            if s.name.endswith(f"input {name}"):
                return {kv.key: kv.value for kv in s.values}
    assert any(status(m, "thermal")["status"] == "silent" and status(m, "color")["status"] == "ok" for m in diags)
    assert any("synchronizer" in s.name and "thermal" in {kv.key: kv.value for kv in s.values}["silent_inputs"]
               for m in diags for s in m.status)


def _box(d):
    c, w, h = d.bbox.center.position, d.bbox.size_x, d.bbox.size_y
    return (c.x - w / 2, c.y - h / 2, c.x + w / 2, c.y + h / 2)


def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_throughput_counts_from_first_publish_to_last_output():
    """The replay's fps is outputs over [first RGB publish, last output] (wall clock): the player's start-up
    before its first frame and its closing wait are not the suite's time."""
    from tracker.nodes.replay import _throughput
    pubs = {1: 100.0, 2: 100.1, 3: 100.2}
    assert _throughput(3, pubs, [100.05, 100.15, 100.25], play_s=5.0) == pytest.approx(3 / 0.25)
    assert _throughput(3, {}, [], play_s=5.0) == pytest.approx(0.6)  # no publish log: whole run
    assert _throughput(0, pubs, [], play_s=5.0) == 0.0
