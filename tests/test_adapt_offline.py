"""Offline tracking of tracker.adapt: long tracks kept, short-lived ones dropped, gaps filled by interpolation,
and the backward pass merged into the forward one (exact expectations on synthetic teacher boxes)."""
from dataclasses import replace

import numpy as np

from tracker.adapt.config import OfflineConfig
from tracker.adapt.offline import fill_gaps, link, merge_passes, offline_tracks, OfflineTrack
from tracker.adapt.teacher import FrameBoxes
from tracker.core.config import ClassParams, TrackerConfig

GROUPS = 3


def _frames(objects, n):
    """objects: [(box at frame f -> (4,) or None, score at f, embedding)] -> n FrameBoxes."""
    out = []
    for f in range(n):
        rows = [(o[0](f), o[1](f), o[2]) for o in objects if o[0](f) is not None]
        b = np.asarray([r[0] for r in rows], float).reshape(-1, 4)
        out.append(FrameBoxes(b, np.asarray([r[1] for r in rows], float), np.zeros(len(rows), np.int64),
                              np.asarray([r[2] for r in rows], np.float32).reshape(-1, 4),
                              np.ones((len(rows), GROUPS), bool)))
    return out


def _walker(x0, missing=()):
    return lambda f: None if f in missing else np.array([x0 + 2.0 * f, 10.0, x0 + 2.0 * f + 20.0, 50.0])


def test_keeps_a_long_track_fills_its_gap_and_drops_a_short_lived_one():
    person = (_walker(10.0, missing={5, 6}), lambda f: 0.9, [1, 0, 0, 0])
    ghost = (lambda f: np.array([200.0, 100.0, 220.0, 140.0]) if f in (3, 4) else None, lambda f: 0.8, [0, 1, 0, 0])
    frames = _frames([person, ghost], 12)
    kept, dropped = offline_tracks(frames, OfflineConfig(min_track_frames=5, max_gap_frames=2))
    assert len(kept) == 1 and len(dropped) == 1
    t = kept[0]
    assert t.frames.tolist() == list(range(12)) and t.detected == 10
    assert t.filled.tolist() == [f in (5, 6) for f in range(12)]
    np.testing.assert_allclose(t.boxes, np.stack([_walker(10.0)(f) for f in range(12)]), atol=1e-9)
    assert np.isnan(t.scores[5]) and not t.support[5].any() and abs(t.confidence - 0.9) < 1e-12
    assert dropped[0].frames.tolist() == [3, 4]


def test_gaps_longer_than_max_gap_are_not_filled():
    t = OfflineTrack(0, np.array([0, 1, 5]), np.array([[0, 0, 10, 10], [2, 0, 12, 10], [10, 0, 20, 10.0]]),
                     np.array([0, 0, 0]), np.array([0.5, 0.5, 0.5]), np.ones((3, GROUPS), bool))
    assert fill_gaps(t, 2).frames.tolist() == [0, 1, 5]
    f = fill_gaps(t, 3)
    assert f.frames.tolist() == [0, 1, 2, 3, 4, 5] and f.det.tolist() == [0, 0, -1, -1, -1, 0]
    np.testing.assert_allclose(f.boxes[2], [4, 0, 14, 10])


def test_backward_pass_recovers_the_frames_before_the_forward_track_was_spawned():
    # frames 0-2 score 0.2: too low to spawn a track (new_track_score 0.3), high enough to continue one
    person = (_walker(10.0), lambda f: 0.2 if f < 3 else 0.9, [1, 0, 0, 0])
    frames = _frames([person], 10)
    p = ClassParams(high_score=0.3, low_score=0.1, new_track_score=0.3)
    cfg = OfflineConfig(min_track_frames=5, max_gap_frames=0,
                        tracker=TrackerConfig(classes={"person": p, "vehicle": p}, min_hits=1))
    fwd = link(frames, cfg)
    assert sorted(f for f, _ in fwd) == list(range(3, 10))
    bwd = link(frames, cfg, backwards=True)
    assert sorted(f for f, _ in bwd) == list(range(10))
    kept, _ = offline_tracks(frames, cfg)
    assert len(kept) == 1 and kept[0].frames.tolist() == list(range(10))
    assert abs(kept[0].confidence - (3 * 0.2 + 7 * 0.9) / 10) < 1e-12


def test_merge_joins_split_tracks_through_the_backward_pass_but_never_two_boxes_of_one_frame():
    fwd = {(0, 0): 1, (1, 0): 1, (2, 0): 1, (3, 0): 2, (4, 0): 2}
    bwd = {(2, 0): 7, (3, 0): 7}
    nodes = sorted(fwd)
    assert merge_passes(fwd, bwd, nodes) == [nodes]
    assert merge_passes(fwd, {}, nodes) == [nodes[:3], nodes[3:]]
    # A = (0,0),(1,0); B = (1,1),(2,0): the backward link (1,0)-(2,0) would give frame 1 two boxes
    fwd = {(0, 0): 1, (1, 0): 1, (1, 1): 2, (2, 0): 2}
    nodes = sorted(fwd)
    assert merge_passes(fwd, {(1, 0): 5, (2, 0): 5}, nodes) == [[(0, 0), (1, 0)], [(1, 1), (2, 0)]]
    # a detection no pass tracked is its own component
    assert merge_passes({}, {}, [(0, 0), (3, 1)]) == [[(0, 0)], [(3, 1)]]


def _standing(box, jitter=0.0):
    rng = np.random.default_rng(0)
    return lambda f: np.asarray(box, float) + rng.uniform(-jitter, jitter, 4)


def test_a_low_confidence_track_standing_still_for_long_is_dropped_as_static_structure():
    window = (_standing([200.0, 100.0, 220.0, 160.0], jitter=1.0), lambda f: 0.3, [0, 1, 0, 0])
    slow_person = (_walker(10.0), lambda f: 0.3, [1, 0, 0, 0])                 # low score, but it walks
    sure_statue = (_standing([400.0, 100.0, 420.0, 160.0]), lambda f: 0.9, [0, 0, 1, 0])  # standing, confident
    cfg = OfflineConfig(min_track_frames=5, static_min_duration_s=2.0, static_max_motion=0.1,
                        static_max_confidence=0.5, frame_period_s=1 / 30)
    kept, dropped = offline_tracks(_frames([window, slow_person, sure_statue], 70), cfg)
    assert [t.dropped_as for t in dropped] == ["static"]
    assert dropped[0].boxes[:, 0].mean() > 190 and dropped[0].boxes[:, 0].mean() < 210
    assert sorted(round(t.confidence, 3) for t in kept) == [0.3, 0.9]
    # the same window seen for less than static_min_duration_s is kept; the rule switched off keeps it too
    kept, dropped = offline_tracks(_frames([window], 50), cfg)
    assert len(kept) == 1 and not dropped
    kept, dropped = offline_tracks(_frames([window], 70), OfflineConfig(static_max_confidence=0.0))
    assert len(kept) == 1 and not dropped


def test_static_tracks_become_ignore_regions_and_are_counted():
    from tracker.adapt.config import LabelConfig
    from tracker.adapt.labels import IGNORE, label_rows, label_stats
    window = (_standing([200.0, 100.0, 220.0, 160.0]), lambda f: 0.3, [0, 1, 0, 0])
    frames = _frames([window], 70)
    kept, dropped = offline_tracks(frames, OfflineConfig(frame_period_s=1 / 30))
    rows = label_rows(kept, dropped, LabelConfig())
    assert len(rows) == 70 and (rows[:, IGNORE] == 1).all()
    stats = label_stats(rows, kept, dropped, 70, ("all", "rgb", "thermal"))
    assert stats["tracks_static"] == 1 and stats["targets"] == 0


def _track(boxes, score):
    n = len(boxes)
    return OfflineTrack(0, np.arange(n), np.asarray(boxes, float), np.arange(n), np.full(n, score),
                        np.ones((n, GROUPS), bool))


def test_a_low_confidence_track_whose_box_hops_is_dropped_and_smooth_motion_at_any_speed_is_kept():
    from tracker.adapt.offline import drop_reason, jerk
    rng = np.random.default_rng(1)
    hop = [[x, 100.0, x + 20.0, 140.0] for x in rng.uniform(0.0, 300.0, 30)]   # clutter boxes linked at random
    runner = [[12.0 * f, 100.0, 12.0 * f + 20.0, 140.0] for f in range(30)]  # 0.3 box heights a frame, smooth
    assert jerk(_track(runner, 0.3)) < 1e-9 and jerk(_track(hop, 0.3)) > 1.0
    cfg = OfflineConfig(min_track_frames=5, jumpy_min_jerk=0.1, jumpy_max_confidence=0.5)
    assert drop_reason(_track(hop, 0.3), cfg) == "jumpy"
    assert drop_reason(_track(runner, 0.3), cfg) == ""
    assert drop_reason(_track(hop, 0.9), cfg) == ""          # confident: kept even though it hops
    assert drop_reason(_track(hop[:4], 0.3), cfg) == "short"  # too short is said first
    assert drop_reason(_track(hop, 0.3), OfflineConfig(jumpy_max_confidence=0.0)) == ""  # rule off


def test_jerk_ignores_interpolated_boxes_and_hopping_tracks_are_counted():
    from tracker.adapt.config import LabelConfig
    from tracker.adapt.labels import label_rows, label_stats
    from tracker.adapt.offline import jerk
    t = _track([[0, 0, 10, 10], [500, 0, 510, 10], [2, 0, 12, 10], [4, 0, 14, 10]], 0.3)
    t.det[1] = -1  # the hop is a filled box: not judged
    assert jerk(t) == 0.0
    hop = _track([[x, 0.0, x + 10.0, 10.0] for x in (0, 100, 0, 100, 0, 100)], 0.3)
    rows = label_rows([], [replace(hop, dropped_as="jumpy")], LabelConfig())
    stats = label_stats(rows, [], [replace(hop, dropped_as="jumpy")], 6, ("all", "rgb", "thermal"))
    assert stats["tracks_jumpy"] == 1 and stats["tracks_static"] == 0 and stats["targets"] == 0
