"""End to end over real DDS: player process -> tracker node process -> recorder (this process), on a bag whose
thermal camera is silent for seconds and then returns.

The tracker node runs the product code path (runner -> TrackerNode -> Processor -> real tracker core) with the
ground-truth test double in place of the network (tests/oracle_node.py)."""
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import yaml

from tracker.data.reader import BagReader
from tracker.tools.replay import replay_bag

from nodes_support import make_short_bag

HERE = Path(__file__).parent


DIAGNOSTICS_PERIOD_S = 0.1  # [s] /diagnostics period of the node in the camera-loss test
THERMAL_GAP_S = (1.2, 4.2)  # the thermal camera (images and camera_info) is silent in this window of the bag

# Camera timing of the bag: thermal leads RGB by 8 ms with no transport latency, depth lags 7 ms and arrives
# 55 ms late (a stereo depth pipeline). In bag order the thermal frame k+1 then comes before the depth frame k,
# so when thermal returns, its first frame reaches the node before the previous RGB frame's set is complete:
# the case where that RGB frame used to be dropped.
BAG_TIMING = {"thermal": {"offset_s": -0.008, "latency_s": 0.0}, "depth": {"latency_s": 0.055},
              "dropout": {"camera": "thermal", "start_s": THERMAL_GAP_S[0],
                          "duration_s": THERMAL_GAP_S[1] - THERMAL_GAP_S[0]}}


@pytest.fixture(scope="module")
def gap_bag(tmp_path_factory):
    # long enough that the silence lasts several /diagnostics periods of lockstep playback and thermal is back
    # for a while at the end
    return make_short_bag(tmp_path_factory.mktemp("e2e") / "short", duration_s=6.0, seed=5, overrides=BAG_TIMING)


def test_every_rgb_frame_one_output_through_a_camera_loss_and_return(gap_bag, tmp_path, monkeypatch):
    monkeypatch.setenv("ROS_DOMAIN_ID", str(random.randint(1, 200)))
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path / "log"))
    out = tmp_path / "out"
    # /diagnostics runs on the steady clock and lockstep playback of the oracle node is fast: a short period
    # keeps several diagnostics ticks inside the thermal silence however fast the machine replays it
    doc = yaml.safe_load((HERE.parent / "config" / "tracker_node.yaml").read_text())
    doc.setdefault("diagnostics", {})["period_s"] = DIAGNOSTICS_PERIOD_S
    node_yaml = tmp_path / "tracker_node.yaml"
    node_yaml.write_text(yaml.safe_dump(doc))
    st = replay_bag(gap_bag, out, config_path=node_yaml,
                    node_command=[sys.executable, str(HERE / "oracle_node.py"), str(gap_bag),
                                  "--use-sim-time", "--config", str(node_yaml)])
    with BagReader(gap_bag) as r:
        rgb_stamps = [s for _, s, _ in r.messages(["/camera/color/image_raw"])]
        thermal = {topic: [s for _, s, _ in r.messages([topic])]
                   for topic in ("/camera/thermal/image_raw", "/camera/thermal/camera_info")}
        gt = {s: msg for _, s, msg in r.messages(["/ground_truth/tracks_2d"])}
    t0 = rgb_stamps[0] / 1e9
    # the bag: thermal image and camera_info both silent for the whole gap, and back after it
    for topic, stamps in thermal.items():
        rel = np.array(stamps) / 1e9 - t0
        assert not ((rel > THERMAL_GAP_S[0] + 0.1) & (rel < THERMAL_GAP_S[1] - 0.1)).any(), topic
        assert (rel > THERMAL_GAP_S[1]).sum() >= 10, topic
    first_back = min(s for s in thermal["/camera/thermal/image_raw"] if s / 1e9 - t0 > THERMAL_GAP_S[1])
    # every RGB frame -> exactly one /tracker/tracks and one /tracker/tracks_2d with its stamp, including the
    # frames next to thermal's return
    assert st["frames_in"] == len(rgb_stamps) >= 80
    assert st["n_missing"] == 0, st["missing_stamps"]
    assert st["duplicate_stamps"] == 0
    with BagReader(out) as r:
        tracks = list(r.messages(["/tracker/tracks"]))
        tracks2d = list(r.messages(["/tracker/tracks_2d"]))
        diags = [m for _, _, m in r.messages(["/diagnostics"])]
    for topic, msgs in (("tracks", tracks), ("tracks_2d", tracks2d)):
        per_stamp = Counter(s for _, s, _ in msgs)
        assert set(per_stamp) == set(rgb_stamps) and set(per_stamp.values()) == {1}, topic
    around_return = [s for s in rgb_stamps if abs(s - first_back) < 0.1e9]
    assert len(around_return) >= 2 and all(s in {x for _, x, _ in tracks} for s in around_return)
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
    # tracks carry on while thermal is silent
    in_gap = [m for _, s, m in tracks if THERMAL_GAP_S[0] + 0.5 < s / 1e9 - t0 < THERMAL_GAP_S[1]]
    assert in_gap and sum(len(m.detections) > 0 for m in in_gap) >= 0.8 * len(in_gap)
    # /diagnostics reported thermal silent while RGB was fine, and thermal back at the end
    def status(m, name):
        for s in m.status:
            if s.name.endswith(f"input {name}"):
                return {kv.key: kv.value for kv in s.values}
    assert any(status(m, "thermal")["status"] == "silent" and status(m, "color")["status"] == "ok" for m in diags)
    assert any("synchronizer" in s.name and "thermal" in {kv.key: kv.value for kv in s.values}["silent_inputs"]
               for m in diags for s in m.status)
    assert status(diags[-1], "thermal")["status"] != "silent"



def test_cameras_at_other_rates_every_rgb_frame_one_output(tmp_path, monkeypatch):
    """RGB 15 Hz, depth 7.5 Hz, thermal 9 Hz (a common export-rate thermal camera): every RGB frame gets its
    outputs, the frames without a partner of a slower camera are processed without it and counted in
    /diagnostics (message_filters' policy would publish only where all three meet)."""
    bag = make_short_bag(tmp_path / "rates", duration_s=3.0, seed=6,
                         overrides={"depth": {"rate_hz": 7.5}, "thermal": {"rate_hz": 9.0}})
    monkeypatch.setenv("ROS_DOMAIN_ID", str(random.randint(1, 200)))
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path / "log"))
    st = replay_bag(bag, tmp_path / "out", node_command=[sys.executable, str(HERE / "oracle_node.py"), str(bag),
                                                         "--use-sim-time"])
    with BagReader(bag) as r:
        rgb_stamps = [s for _, s, _ in r.messages(["/camera/color/image_raw"])]
    assert st["frames_in"] == len(rgb_stamps) >= 40 and st["n_missing"] == 0, st.get("missing_stamps")
    with BagReader(tmp_path / "out") as r:
        per_stamp = Counter(s for _, s, _ in r.messages(["/tracker/tracks_2d"]))
        diags = [m for _, _, m in r.messages(["/diagnostics"])]
    assert set(per_stamp) == set(rgb_stamps) and set(per_stamp.values()) == {1}
    sync = [{kv.key: kv.value for kv in s.values} for m in diags for s in m.status if "synchronizer" in s.name]
    last = sync[-1]
    assert last["rgb_received"] == str(len(rgb_stamps)) and last["dropped"] == "0"
    # lockstep playback is slower than the bag's clock, so a slow camera is at times also declared silent (a
    # silent camera's frames are not unpaired ones); the frames it is merely out of step for are counted
    assert int(last["unpaired_thermal"]) + int(last["unpaired_depth"]) > 0


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
    from tracker.tools.replay import _throughput
    pubs = {1: 100.0, 2: 100.1, 3: 100.2}
    assert _throughput(3, pubs, [100.05, 100.15, 100.25], play_s=5.0) == pytest.approx(3 / 0.25)
    assert _throughput(3, {}, [], play_s=5.0) == pytest.approx(0.6)  # no publish log: whole run
    assert _throughput(0, pubs, [], play_s=5.0) == 0.0
