"""Processor (ROS-free stage orchestration) on a short simulated bag with a ground-truth test double."""
from collections import Counter, defaultdict

import numpy as np
import pytest

from tracker.core import Tracker, TrackerConfig
from tracker.data.reader import BagReader
from tracker.nodes.config import load_node_config
from tracker.pipeline.processor import FrameError, FrameInput, Processor, extrinsics_from_edges
from tracker.common.geometry import Transform

from nodes_support import FixedDetector, OracleDetector, make_short_bag


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    return make_short_bag(tmp_path_factory.mktemp("bag") / "short", duration_s=2.0)


def _processor(detector, cfg=None):
    cfg = cfg or load_node_config("config/tracker_node.yaml")
    tc = TrackerConfig.from_mapping(cfg.tracker)
    return Processor(cfg.processor, detector, Tracker(tc), tc.class_names)


def test_ids_stable_and_3d_near_ground_truth(bag):
    det = OracleDetector(bag)
    proc = _processor(det)
    with BagReader(bag) as r:
        for n, cam in r.cameras.items():
            proc.set_camera(n, cam)
        proc.set_extrinsics({k: v for k, v in r.extrinsics.items() if k != "color"})
        gt_to_tracks = defaultdict(Counter)
        errs = []
        frames = 0
        for s in r.samples():
            res = proc.process(FrameInput(s.stamp, s.rgb, s.thermal, s.thermal_encoding, s.depth))
            frames += 1
            assert res.modalities == {"color", "thermal", "depth"}
            gt = [g for g in s.gt2d if g.visibility >= 0.3]
            g3 = {g.id: g for g in s.gt3d}
            for t in res.published_tracks():
                if t.det_index >= 0:
                    gid = gt[t.det_index].id
                    gt_to_tracks[gid][t.track_id] += 1
                    if t.position is not None and gid in g3:
                        errs.append(np.linalg.norm(np.asarray(t.position) - g3[gid].center))
    assert det.misses == 0 and frames >= 25
    for gid, c in gt_to_tracks.items():
        assert len(c) == 1, f"ground-truth {gid} got several track ids: {c}"
    assert errs and np.median(errs) < 0.6


def test_missing_modalities_and_bad_sizes_are_notes_not_crashes():
    det = FixedDetector([[100, 100, 150, 220]])
    proc = _processor(det)
    rgb = np.zeros((480, 640, 3), np.uint8)
    # no camera_info at all: RGB only, reported
    res = proc.process(FrameInput(1.0, rgb, np.zeros((512, 640), np.uint16), "mono16",
                                  np.ones((480, 640), np.float32)))
    assert res.modalities == {"color"} and any("camera_info" in t for _, t in res.notes)
    from tracker.common.geometry import CameraModel
    proc.set_camera("color", CameraModel.from_fov(640, 480, 69, "rgb"))
    proc.set_camera("depth", CameraModel.from_fov(640, 480, 75, "depth"))
    # depth of the wrong size and all-NaN depth
    res = proc.process(FrameInput(1.1, rgb, None, None, np.ones((10, 10), np.float32)))
    assert any(c == "depth" and "10x10" in t for c, t in res.notes)
    res = proc.process(FrameInput(1.2, rgb, None, None, np.full((480, 640), np.nan, np.float32)))
    assert any("no valid reading" in t for _, t in res.notes)
    with pytest.raises(FrameError):
        proc.process(FrameInput(1.3, np.zeros((10, 10, 3), np.uint8)))
    # time going backwards resets the tracker
    res = proc.process(FrameInput(0.5, rgb))
    assert any("backwards" in t for _, t in res.notes)


def test_extrinsics_chain_either_direction():
    T = Transform.from_quat((0.1, 0, 0), (0, 0, 0, 1))
    ext = extrinsics_from_edges({("base", "rgb"): T, ("base", "ir"): Transform.identity()},
                                {"color": "rgb", "thermal": "ir"})
    assert np.allclose(ext["thermal"].t, [-0.1, 0, 0])


def test_target_frame_and_extrinsics_fallback():
    from dataclasses import replace
    from tracker.common.config import from_mapping
    from tracker.common.geometry import CameraModel
    from tracker.pipeline.processor import OutputConfig, StaticTransformConfig
    cfg = load_node_config("config/tracker_node.yaml")
    out = from_mapping(OutputConfig, {"target_frame": "base_link",
                                      "T_target_color": {"translation": [1.0, 0.0, 2.0],
                                                         "quaternion_xyzw": [0.0, 0.0, 0.0, 1.0]}}, where="output")
    pc = replace(cfg.processor, output=out,
                 fallback_extrinsics={"thermal": StaticTransformConfig((0.05, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0))})
    cfg = replace(cfg, processor=pc)
    det = FixedDetector([[300, 200, 340, 300]])
    proc = _processor(det, cfg)
    assert proc.extrinsics()["thermal"][1] == "config" and proc.extrinsics()["depth"][1] == "identity (assumed)"
    proc.set_extrinsics({"thermal": Transform.identity()})
    assert proc.extrinsics()["thermal"][1] == "tf_static"
    proc.set_camera("color", CameraModel.from_fov(640, 480, 69, "rgb"))
    proc.set_camera("depth", CameraModel.from_fov(640, 480, 69, "depth"))
    depth = np.full((480, 640), 4.0, np.float32)
    for k in range(3):
        res = proc.process(FrameInput(1.0 + k / 15, np.zeros((480, 640, 3), np.uint8), depth=depth))
    t = res.published_tracks()[0]
    assert res.frame_id == "base_link"
    assert t.position[2] == pytest.approx(6.0, abs=0.05) and t.position[0] == pytest.approx(1.0 + 0.0, abs=0.3)


class _DistanceOnlyDetector(FixedDetector):
    """Boxes with a depth-head range (no depth image anywhere)."""

    def detect(self, rgb, thermal, thermal_encoding, depth):
        from dataclasses import replace
        d = super().detect(rgb, thermal, thermal_encoding, depth)
        return replace(d, distances=np.full(len(d), 7.0))


@pytest.mark.parametrize("use_head", [True, False])
def test_use_depth_head_false_gives_no_depth_head_positions(use_head):
    """3D from the depth head is made in one place (pipeline.depth3d); the core takes positions only, so with
    depth3d.use_depth_head false neither the boxes nor the tracks get a position from it."""
    from dataclasses import replace
    from tracker.common.geometry import CameraModel
    from tracker.pipeline.depth3d import SOURCE_HEAD, SOURCE_NONE
    cfg = load_node_config("config/tracker_node.yaml")
    cfg = replace(cfg, processor=replace(cfg.processor,
                                         depth3d=replace(cfg.processor.depth3d, use_depth_head=use_head)))
    proc = _processor(_DistanceOnlyDetector([[300, 200, 340, 300]]), cfg)
    proc.set_camera("color", CameraModel.from_fov(640, 480, 69, "rgb"))
    for k in range(4):
        res = proc.process(FrameInput(1.0 + k / 15, np.zeros((480, 640, 3), np.uint8)))
    (trk,) = res.tracks
    if use_head:
        assert res.boxes3d.source.tolist() == [SOURCE_HEAD]
        assert trk.position is not None and np.linalg.norm(trk.position) == pytest.approx(7.0, abs=0.3)
    else:
        assert res.boxes3d.source.tolist() == [SOURCE_NONE] and np.isnan(res.boxes3d.positions).all()
        assert trk.position is None


def test_calibration_arriving_while_the_registrar_is_rebuilt_is_not_lost(monkeypatch):
    """processing: latest runs set_camera on the DDS thread while the worker rebuilds the registrar. A rebuild
    paused after it read the old calibration, with depth's camera_info arriving meanwhile, must not leave a
    stale registrar for good (it used to: 'depth dropped: no depth camera_info' for the rest of the run)."""
    import threading
    from tracker.common.geometry import CameraModel
    import tracker.pipeline.processor as processor_mod
    real = processor_mod.Registrar
    building, go = threading.Event(), threading.Event()

    def paused_registrar(*args, **kwargs):
        reg = real(*args, **kwargs)  # built from the calibration it was given...
        building.set()
        assert go.wait(5.0)  # ...then paused before it is stored
        return reg

    proc = _processor(FixedDetector([[300, 200, 340, 300]]))
    proc.set_camera("color", CameraModel.from_fov(640, 480, 69, "rgb"))
    rgb, depth = np.zeros((480, 640, 3), np.uint8), np.full((480, 640), 4.0, np.float32)
    monkeypatch.setattr(processor_mod, "Registrar", paused_registrar)
    worker = threading.Thread(target=proc.process, args=(FrameInput(1.0, rgb, depth=depth),))
    worker.start()
    assert building.wait(5.0)
    assert proc.set_camera("depth", CameraModel.from_fov(640, 480, 69, "depth"))  # the DDS thread, mid-rebuild
    go.set()
    worker.join(5.0)
    monkeypatch.setattr(processor_mod, "Registrar", real)
    res = proc.process(FrameInput(1.1, rgb, depth=depth))
    assert not res.notes, res.notes
    assert "depth" in res.modalities
    assert res.boxes3d.source.tolist() == [1]  # SOURCE_DEPTH


def test_lost_tracks_are_published_only_within_publish_lost_s():
    """A confirmed track that misses its detection becomes LOST at once; output.publish_lost_s keeps publishing
    it (Kalman-predicted, state LOST) while it is unseen at most that long, and never longer; a track with fewer
    detections than publish_lost_min_hits is not kept."""
    from dataclasses import replace
    from tracker.common.config import from_mapping
    from tracker.core.types import TrackState
    from tracker.pipeline.processor import OutputConfig
    cfg = load_node_config("config/tracker_node.yaml")
    cfg = replace(cfg, processor=replace(cfg.processor, output=from_mapping(
        OutputConfig, {"publish_lost_s": 0.25, "publish_lost_min_hits": 4}, where="output")))
    out_cfg, too_short = cfg.processor.output, replace(cfg.processor.output, publish_lost_min_hits=5)
    det = FixedDetector([[300, 200, 340, 300]])
    proc = _processor(det, cfg)
    rgb, dt = np.zeros((480, 640, 3), np.uint8), 1.0 / 15
    for k in range(4):
        res = proc.process(FrameInput(1.0 + k * dt, rgb))
    assert [t.state for t in res.published_tracks()] == [TrackState.CONFIRMED]
    det.boxes = np.zeros((0, 4))  # the person walks behind a truck
    lost_s = cfg.processor.output.publish_lost_s
    seen = []
    for k in range(4, 10):
        res = proc.process(FrameInput(1.0 + k * dt, rgb))
        (trk,) = res.tracks
        assert trk.state == TrackState.LOST and res.published_tracks() == []  # default: confirmed only
        published = res.published(out_cfg)  # what the node publishes with this output section
        assert [t.track_id for t in published] == ([trk.track_id] if trk.time_since_update <= lost_s else [])
        seen.append(bool(published))
        assert trk.hits == 4 and res.published(too_short) == []  # fewer detections than publish_lost_min_hits
    assert seen == [True, True, True, False, False, False]  # unseen 1/15, 2/15, 3/15 s <= 0.25 s < 4/15 s
