"""Tracker behaviour: aging on empty frames, crossings, re-identification, determinism, id isolation."""
import numpy as np
import pytest

from tracker.common.geometry import CameraModel, Transform
from tracker.core import Detections, Tracker, TrackerConfig, TrackState

DT = 0.1


def box_at(cx, cy, w=40.0, h=100.0):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def unit(v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def frame(boxes, emb=None, pos=None, scores=None, classes=None):
    n = len(boxes)
    return Detections(np.array(boxes, float).reshape(n, 4),
                      np.full(n, 0.9) if scores is None else np.array(scores, float),
                      np.zeros(n, int) if classes is None else np.array(classes),
                      embeddings=None if emb is None else np.array(emb, float),
                      positions=None if pos is None else np.array(pos, float))


def ids_by_det(tracks):
    return {t.det_index: t.track_id for t in tracks if t.det_index >= 0}


def test_empty_frames_age_tracks_then_delete():
    cfg = TrackerConfig.from_mapping({"classes": {"person": {"max_unseen_s": 1.0}, "vehicle": {}}})
    trk = Tracker(cfg)
    dt = 0.125  # exact in binary, so 8 frames are exactly 1 s
    for k in range(3):
        trk.update(k * dt, frame([box_at(100, 100)]))
    seen = []
    for k in range(1, 12):
        tracks = trk.update((2 + k) * dt, Detections.empty())
        seen.append([(t.state, t.time_since_update, t.age, t.det_index) for t in tracks])
    assert seen[0] == [(TrackState.LOST, 0.125, 0.375, -1)]
    assert seen[7] == [(TrackState.LOST, 1.0, 1.25, -1)]
    assert seen[8] == []  # 1.125 s unseen > max_unseen_s


def test_tentative_needs_min_hits_and_dies_on_a_miss():
    trk = Tracker(TrackerConfig.from_mapping({"min_hits": 3}))
    states = [trk.update(k * DT, frame([box_at(100, 100)]))[0].state for k in range(3)]
    assert states == [TrackState.TENTATIVE, TrackState.TENTATIVE, TrackState.CONFIRMED]
    trk.update(0.3, frame([box_at(400, 100)]))  # the confirmed one is lost, a new tentative is born
    assert [t.state for t in trk.update(0.4, Detections.empty())] == [TrackState.LOST]


def _crossing(with_emb: bool, with_pos: bool):
    trk = Tracker(TrackerConfig())
    emb = [unit([1, 0, 0, 0.1]), unit([0, 1, 0, 0.1])]
    first = None
    for k in range(40):
        xa, xb = 100 + 10 * k, 490 - 10 * k  # cross at k = 19.5
        boxes = [box_at(xa, 200), box_at(xb, 205)]
        pos = [[(xa - 320) / 100, 0, 6.0], [(xb - 320) / 100, 0, 8.0]] if with_pos else None
        tracks = trk.update(k * DT, frame(boxes, emb if with_emb else None, pos))
        ids = ids_by_det(tracks)
        if k == 2:
            first = ids
        if k >= 2:
            assert ids == first, f"ids swapped at frame {k}: {ids} vs {first}"
    assert len({t.track_id for t in tracks}) == 2


@pytest.mark.parametrize("with_emb, with_pos", [(True, False), (False, False), (False, True), (True, True)])
def test_two_person_crossing_keeps_both_ids(with_emb, with_pos):
    _crossing(with_emb, with_pos)


@pytest.mark.parametrize("same, with_pos", [(True, False), (False, False), (True, True), (False, True)])
def test_absent_two_seconds_reid_by_embedding(same, with_pos):
    trk = Tracker(TrackerConfig())
    me, other = unit([1, 0.2, 0, 0]), unit([0, 0, 1, 0.2])
    stamp = 0.0
    for k in range(10):
        stamp = k * DT
        tracks = trk.update(stamp, frame([box_at(100 + 5 * k, 200)], [me], [[0, 0, 6.0]] if with_pos else None))
    old_id = tracks[0].track_id
    for _ in range(20):  # 2 s without it
        stamp += DT
        trk.update(stamp, Detections.empty(4))
    stamp += DT
    back = trk.update(stamp, frame([box_at(260, 210)], [me if same else other],
                                   [[0.5, 0, 6.5]] if with_pos else None))
    got = ids_by_det(back)[0]
    if same:
        assert got == old_id
    else:
        assert got != old_id and got > old_id
        assert any(t.track_id == old_id and t.state == TrackState.LOST for t in back)


def _stream(seed=7, n_frames=60):
    rng = np.random.default_rng(seed)
    frames, stamp = [], 0.0
    for k in range(n_frames):
        stamp += DT * rng.choice([0.0, 0.5, 1.0, 3.0])
        n = rng.integers(0, 8)
        xy = rng.uniform(0, 600, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(20, 120, (n, 2))], 1)
        frames.append((stamp,
                       Detections(boxes, rng.uniform(0, 1, n), rng.integers(0, 2, n),
                                  embeddings=rng.normal(size=(n, 8)),
                                  positions=np.where(rng.uniform(size=(n, 1)) < 0.3, np.nan,
                                                     rng.uniform(1, 20, (n, 3))))))
    return frames


def _summary(tracks):
    return [(t.track_id, int(t.state), t.box.round(9).tolist(), t.det_index, t.hits) for t in tracks]


def test_same_input_gives_same_output_and_reset_restarts():
    frames = _stream()
    a, b = Tracker(TrackerConfig()), Tracker(TrackerConfig())
    out_a = [_summary(a.update(s, d)) for s, d in frames]
    out_b = [_summary(b.update(s, d)) for s, d in frames]
    assert out_a == out_b
    a.reset()
    assert [_summary(a.update(s, d)) for s, d in frames] == out_a


def test_two_trackers_do_not_share_ids():
    a, b = Tracker(TrackerConfig()), Tracker(TrackerConfig())
    ta = a.update(0.0, frame([box_at(100, 100), box_at(300, 100)]))
    tb = b.update(0.0, frame([box_at(100, 100)]))
    assert [t.track_id for t in ta] == [1, 2] and [t.track_id for t in tb] == [1]


def test_ids_never_reused_within_a_run():
    trk = Tracker(TrackerConfig.from_mapping({"classes": {"person": {"max_unseen_s": 0.2}, "vehicle": {}}}))
    all_ids = []
    for k in range(30):
        tracks = trk.update(k * DT, frame([box_at(50 + 200 * (k % 3), 100)]) if k % 2 else Detections.empty())
        all_ids += [t.track_id for t in tracks if t.age == 0]
    assert len(all_ids) == len(set(all_ids))


def test_stamp_backwards_is_an_error_and_missing_frames_are_fine():
    trk = Tracker(TrackerConfig())
    for k in range(5):
        trk.update(k * DT, frame([box_at(100 + 10 * k, 100)]))
    tracks = trk.update(0.8, frame([box_at(180, 100)]))  # three frames missing: dt from stamps
    assert ids_by_det(tracks) == {0: 1}
    with pytest.raises(ValueError, match="stamp went backwards"):
        trk.update(0.7, Detections.empty())


def test_low_score_detection_keeps_track_but_does_not_spawn():
    trk = Tracker(TrackerConfig())
    for k in range(3):
        trk.update(k * DT, frame([box_at(100 + 5 * k, 100)]))
    tracks = trk.update(0.3, frame([box_at(115, 100), box_at(400, 100)], scores=[0.3, 0.3]))
    assert ids_by_det(tracks) == {0: 1} and len(tracks) == 1


def test_3d_missing_falls_back_to_2d_and_3d_arrives_later():
    trk = Tracker(TrackerConfig())
    nan = [np.nan] * 3
    for k in range(4):
        tracks = trk.update(k * DT, frame([box_at(100 + 5 * k, 100)], pos=[nan]))
    assert tracks[0].position is None and tracks[0].covariance.shape == (6, 6)
    tracks = trk.update(0.4, frame([box_at(120, 100)], pos=[[0.1, 0.2, 7.0]]))
    assert tracks[0].track_id == 1 and np.allclose(tracks[0].position, [0.1, 0.2, 7.0])


def test_ego_motion_moves_boxes_of_static_objects_with_a_camera():
    cam = CameraModel.from_fov(640, 480, 90.0)
    trk = Tracker(TrackerConfig(), camera=cam)
    p = np.array([0.5, 0.0, 5.0])
    T = Transform(np.eye(3), np.array([0.3, 0.0, 0.0]))  # camera slides 0.3 m right each frame
    for k in range(12):
        uv, _ = cam.project(p[None])
        f = cam.fx
        w, h = 0.5 * f / p[2], 1.7 * f / p[2]
        tracks = trk.update(k * DT, frame([box_at(uv[0, 0], uv[0, 1], w, h)], pos=[p]),
                            ego_motion=T if k else None)
        assert ids_by_det(tracks) == {0: 1}
        p = T.inverse().apply(p)
    assert np.linalg.norm(tracks[0].velocity) < 0.3  # static in the world


def test_modalities_det_index_and_class_names():
    trk = Tracker(TrackerConfig())
    tracks = trk.update(0.0, frame([box_at(100, 100), box_at(300, 100)], classes=[1, 0]),
                        modalities=frozenset({"rgb", "depth"}))
    assert [(t.class_name, t.det_index, t.modalities) for t in tracks] == [
        ("vehicle", 0, frozenset({"rgb", "depth"})), ("person", 1, frozenset({"rgb", "depth"}))]
    with pytest.raises(ValueError, match="class index out of range"):
        trk.update(0.1, frame([box_at(100, 100)], classes=[2]))


def test_cost_needing_embeddings_rejects_frames_without():
    trk = Tracker(TrackerConfig.from_mapping({"cost_high": "iou_embedding"}))
    with pytest.raises(ValueError, match="'iou_embedding' needs embeddings"):
        trk.update(0.0, frame([box_at(100, 100)]))
    trk.update(0.1, Detections.empty())  # empty frames are fine
