"""ApproximateTimeSync: message_filters semantics (queue size, slop), silent inputs, bad stamps."""
import pytest

from tracker.common.config import ConfigError, from_mapping
from tracker.pipeline.sync import ApproximateTimeSync, SyncConfig, SyncEventKind

CAMS = ("color", "thermal", "depth")


def make(**kw):
    cfg = SyncConfig(**{"queue_size": 10, "slop_s": 0.02, "timeout_s": 0.5, **kw})
    return ApproximateTimeSync(CAMS, cfg, now=0.0)


def feed(sync, events):
    out = []
    for name, stamp, now in events:
        out += sync.add(name, stamp, f"{name}@{stamp:.3f}", now)
    return out


def test_all_three_within_slop_emit_one_set_stamped_with_rgb():
    s = make()
    sets = feed(s, [("color", 1.000, 0.0), ("thermal", 1.003, 0.01), ("depth", 1.007, 0.02)])
    assert len(sets) == 1
    assert sets[0].stamp == 1.000
    assert sets[0].msgs == {"color": "color@1.000", "thermal": "thermal@1.003", "depth": "depth@1.007"}
    assert sets[0].missing == frozenset()


def test_arrival_order_does_not_matter_and_each_rgb_emits_once():
    s = make()
    ev = []
    for k in range(20):
        t = 1.0 + k / 15
        ev += [("depth", t + 0.007, k * 0.066), ("thermal", t + 0.003, k * 0.066), ("color", t, k * 0.066 + 0.001)]
    sets = feed(s, ev)
    assert [round(x.stamp, 6) for x in sets] == [round(1.0 + k / 15, 6) for k in range(20)]
    assert s.stats.dropped == 0


def test_partner_outside_slop_drops_the_rgb_frame_like_message_filters():
    s = make(unmatched="drop")
    sets = feed(s, [("color", 1.0, 0.0), ("thermal", 1.05, 0.01), ("depth", 1.05, 0.01),
                    ("color", 1.05, 0.05)])
    assert [x.stamp for x in sets] == [1.05]
    assert s.stats.dropped == 1


def test_partner_outside_slop_is_left_out_of_that_rgb_frame_by_default():
    s = make()
    sets = feed(s, [("color", 1.0, 0.0), ("thermal", 1.05, 0.01), ("depth", 1.05, 0.01),
                    ("color", 1.05, 0.05)])
    assert [x.stamp for x in sets] == [1.0, 1.05]
    assert sets[0].msgs == {"color": "color@1.000"} and sets[0].unpaired == frozenset({"thermal", "depth"})
    assert sets[0].missing == frozenset()  # not silent: they deliver, only not for this frame
    assert set(sets[1].msgs) == set(CAMS) and sets[1].unpaired == frozenset()
    assert s.stats.dropped == 0 and s.stats.unpaired == {"color": 0, "thermal": 1, "depth": 1}


def test_cameras_at_other_rates_give_one_set_per_rgb_frame():
    """RGB 30 Hz, depth 15 Hz, thermal 9 Hz (a common export-rate thermal camera): every RGB frame is emitted,
    with depth on every 2nd and thermal on the frames it is within slop of; message_filters' policy emits only
    the frames where all three meet."""
    def events():
        ev = []
        for k in range(90):  # 3 s
            ev.append(("color", 1.0 + k / 30, k / 30))
            if k % 2 == 0:
                ev.append(("depth", 1.0 + k / 30 + 0.002, k / 30))
        ev += [("thermal", 1.0 + j / 9 + 0.004, j / 9) for j in range(27)]
        return sorted(ev, key=lambda e: (e[2], e[0] != "color"))
    s, strict = make(), make(unmatched="drop")
    sets, strict_sets = feed(s, events()), feed(strict, events())
    assert len(sets) + s.queued("color") == 90 and s.stats.dropped == 0
    with_depth = [x for x in sets if "depth" in x.msgs]
    with_thermal = [x for x in sets if "thermal" in x.msgs]
    assert len(with_depth) == s.stats.received["depth"] - s.queued("depth")
    assert abs(len(with_thermal) - 27) <= 1 and s.stats.unpaired["thermal"] == len(sets) - len(with_thermal)
    assert all(abs(x.stamps[n] - x.stamp) <= 0.02 for x in sets for n in x.msgs)
    assert len(strict_sets) < 20 and strict.stats.dropped > 60


def test_queue_size_evicts_oldest_and_counts_a_drop():
    s = make(queue_size=3)
    feed(s, [("color", 1.0 + k * 0.1, 0.01 * k) for k in range(5)])
    assert s.queued("color") == 3
    assert s.stats.evicted["color"] == 2 and s.stats.dropped == 2


def test_silent_camera_is_left_out_after_timeout_and_returns():
    s = make()
    ev = []
    for k in range(12):
        t, now = 1.0 + k / 15, k / 15
        ev += [("color", t, now), ("depth", t + 0.007, now)]
        if k < 3:
            ev.append(("thermal", t + 0.003, now))
    sets = feed(s, ev)
    # frames 0-2 complete; 3.. wait for thermal until it has been silent for 0.5 s (receive clock)
    assert [len(x.msgs) for x in sets[:3]] == [3, 3, 3]
    assert "thermal" in s.silent
    late = sets[3:]
    assert late and all(x.missing == frozenset({"thermal"}) for x in late)
    # no RGB frame lost while waiting: 12 frames in, 12 sets out
    assert len(sets) == 12 and s.stats.dropped == 0
    assert any(e.kind is SyncEventKind.SILENT and e.input == "thermal" and "proceeding without it" in e.text()
               for e in s.events)
    back = s.add("thermal", 1.0 + 12 / 15 + 0.003, "th", 0.8)
    assert back == [] and "thermal" not in s.silent
    sets = feed(s, [("color", 1.0 + 12 / 15, 0.81), ("depth", 1.0 + 12 / 15 + 0.007, 0.81)])
    assert len(sets) == 1 and sets[0].missing == frozenset()


def test_poll_flushes_waiting_frames_when_a_camera_stops_and_nothing_else_arrives():
    s = make()
    assert feed(s, [("color", 1.0, 0.0), ("depth", 1.007, 0.0), ("thermal", 1.003, 0.0)])
    assert feed(s, [("color", 1.066, 0.066), ("depth", 1.073, 0.066)]) == []
    assert s.poll(0.55) == []
    sets = s.poll(0.6)
    assert len(sets) == 1 and sets[0].stamp == 1.066 and sets[0].missing == {"thermal"}


def test_never_seen_camera_becomes_silent_after_timeout_from_first_rgb():
    s = make()
    assert s.poll(5.0) == [] and s.silent == {"color"}  # only RGB is reported before RGB arrives
    assert feed(s, [("color", 1.0, 5.1), ("depth", 1.0, 5.1)]) == []
    assert s.poll(5.5) == []
    sets = s.poll(5.65)
    assert len(sets) == 1 and sets[0].missing == {"thermal"}


def test_without_rgb_nothing_is_emitted():
    s = make()
    feed(s, [("thermal", 1.0 + k / 15, k / 15) for k in range(15)])
    assert s.poll(2.0) == []
    assert "color" in s.silent


def test_rgb_is_never_reported_as_left_out():
    """At start-up (and whenever RGB stalls) the event says that nothing is published, not 'proceeding without
    it': RGB is the pivot and cannot be left out."""
    s = make()
    s.poll(0.6)
    (ev,) = [e for e in s.events if e.input == "color"]
    assert ev.kind is SyncEventKind.PIVOT_IDLE and ev.idle_s is None
    assert "proceeding without it" not in ev.text() and "nothing is published" in ev.text()
    assert not any(e.kind is SyncEventKind.SILENT and e.input == "color" for e in s.events)


def _silent_then_back(first_back_arrives_before_depth: bool):
    """Thermal silent from frame 3 to 19 (declared silent after timeout_s), back from frame 20 on. Thermal stamps
    lead RGB by 10 ms; when it returns, its first message (frame 20) can arrive before frame 19's depth."""
    s = make()
    out = []
    period = 1 / 15
    for k in range(30):
        t, now = 1.0 + k * period, k * period
        if k < 3:
            out += s.add("thermal", t - 0.01, f"th{k}", now)
        out += s.add("color", t, f"c{k}", now + 0.001)
        if k >= 19 and first_back_arrives_before_depth:
            out += s.add("thermal", t + period - 0.01, f"th{k + 1}", now + 0.0015)
        out += s.add("depth", t + 0.007, f"d{k}", now + 0.002)
        if k >= 19 and not first_back_arrives_before_depth:
            out += s.add("thermal", t + period - 0.01, f"th{k + 1}", now + 0.003)
    return s, out


@pytest.mark.parametrize("early", [False, True])
def test_every_rgb_frame_emitted_once_through_a_camera_loss_and_return(early):
    s, sets = _silent_then_back(early)
    assert [x.msgs["color"] for x in sets] == [f"c{k}" for k in range(30)]
    assert s.stats.dropped == 0
    # the frame before thermal's first returned message went out without it; the next ones have it again
    by = {x.msgs["color"]: x for x in sets}
    assert by["c19"].missing == {"thermal"}
    assert by["c20"].missing == frozenset() and by["c20"].msgs["thermal"] == "th20"
    assert any(e.kind is SyncEventKind.RETURNED and e.input == "thermal" for e in s.events)


def test_stamp_going_backwards_is_rejected_and_reported():
    s = make()
    feed(s, [("color", 1.0, 0.0), ("thermal", 1.0, 0.0), ("depth", 1.0, 0.0)])
    assert feed(s, [("color", 0.9, 0.05)]) == []
    assert s.stats.backwards["color"] == 1
    rejected = [e for e in s.events if e.kind is SyncEventKind.REJECTED]
    assert [(e.input, e.stamp_s, e.previous_s) for e in rejected] == [("color", 0.9, 1.0)]
    assert rejected[0].is_input_problem and "not after the previous" in rejected[0].text()
    # a big backward jump (bag loop) resets instead
    feed(s, [("color", -5.0, 0.06)])
    assert s.stats.resets == 1


def test_single_input_emits_every_frame():
    s = ApproximateTimeSync(["color"], SyncConfig())
    assert len(s.add("color", 1.0, "a", 0.0)) == 1
    assert len(s.add("color", 1.1, "b", 0.1)) == 1


def test_config_validation_names_the_key():
    with pytest.raises(ConfigError, match="sync.slop_s"):
        from_mapping(SyncConfig, {"slop_s": -1}, where="sync")
    with pytest.raises(ConfigError, match="unknown key"):
        from_mapping(SyncConfig, {"slopp": 0.1}, where="sync")


def test_a_stall_of_everything_silences_nobody():
    """A busy machine or a paused player delays every camera: no camera is left out for that."""
    s = make()
    feed(s, [("color", 1.0, 0.0), ("thermal", 1.003, 0.0), ("depth", 1.007, 0.0)])
    sets = feed(s, [("color", 1.066, 2.0), ("thermal", 1.069, 2.001), ("depth", 1.073, 2.002)])
    assert len(sets) == 1 and sets[0].missing == frozenset()
    assert s.silent == frozenset()
