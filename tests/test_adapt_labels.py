"""Pseudo labels: rows with soft weights and ignore regions from offline tracks; as a training override they
change the targets and losses exactly as specified, and without an override nothing changes; their
precision/recall against known ground truth."""
import numpy as np
import torch

from tracker.adapt.config import LabelConfig
from tracker.adapt.labels import NO_ID, grow, label_rows, write_labels
from tracker.adapt.measure import PRCounter, score_labels
from tracker.adapt.offline import OfflineTrack
from tracker.adapt.teacher import FrameBoxes
from tracker.network.cache import FrameCache, load_labels
from tracker.network.losses import focal_sum
from tracker.network.targets import build_targets

BINS = np.linspace(1, 60, 6)
CFG = LabelConfig(weight_zero_confidence=0.1, weight_full_confidence=0.5, filled_weight=0.5,
                  ignore_below_weight=0.2, ignore_margin=0.1)


def _track(score, frames, det=None):
    n = len(frames)
    boxes = np.array([[8.0 + f, 8.0, 28.0 + f, 48.0] for f in frames])
    det = np.zeros(n, np.int64) if det is None else np.asarray(det)
    return OfflineTrack(0, np.asarray(frames), boxes, det, np.where(det >= 0, score, np.nan), np.ones((n, 2), bool))


def test_rows_weight_by_track_confidence_halve_interpolated_boxes_and_ignore_the_rest():
    strong = _track(0.7, [0, 1, 2], det=[0, -1, 0])   # weight 1; its interpolated box 0.5
    weak = _track(0.16, [0, 1])                       # weight 0.15 < 0.2: ignore regions
    short = _track(0.9, [2])                          # dropped track: ignore region
    rows = label_rows([strong, weak], [short], CFG)
    assert rows.shape == (6, 11) and rows.dtype == np.float32 and rows[:, 0].tolist() == [0, 0, 1, 1, 2, 2]
    tgt, ign = rows[rows[:, 10] == 0], rows[rows[:, 10] == 1]
    assert tgt[:, 9].tolist() == [1.0, 0.5, 1.0] and tgt[:, 6].tolist() == [0, 0, 0]  # id: the track's index
    assert np.all(tgt[:, 7] == 1) and np.all(np.isnan(tgt[:, 8]))
    assert len(ign) == 3 and np.all(ign[:, 6] == NO_ID) and np.all(ign[:, 9] == 0)
    np.testing.assert_allclose(ign[ign[:, 0] == 2, 1:5], grow(short.boxes, 0.1))
    np.testing.assert_allclose(grow(np.array([[10.0, 10, 30, 50]]), 0.1), [[8, 6, 32, 54]])


def _objects(weight=1.0, ignore=0.0, extra=()):
    base = [[8, 8, 28, 48, 0, 3, 1.0, np.nan]]
    return np.array([r + [weight, ignore] for r in base] + list(extra), np.float32) if weight is not None \
        else np.array(base, np.float32)


def test_label_override_changes_targets_exactly_and_no_override_changes_nothing():
    plain = build_targets(_objects(None), 64, 64, 2, BINS)
    assert "weight" not in plain and "heatmap_weight" not in plain
    one = build_targets(_objects(1.0), 64, 64, 2, BINS)
    for k in plain:
        np.testing.assert_array_equal(plain[k], one[k])
    assert np.all(one["heatmap_weight"] == 1) and one["weight"][0] == 1 and one["weight"][1:].sum() == 0
    soft = build_targets(_objects(0.4), 64, 64, 2, BINS)
    np.testing.assert_array_equal(soft["heatmap"], plain["heatmap"])
    hw = soft["heatmap_weight"]
    assert soft["weight"][0] == np.float32(0.4) and hw[0, 7, 4] == np.float32(0.4) and hw[1].min() == 1
    assert set(np.unique(hw[0])) == {np.float32(0.4), np.float32(1.0)}
    ign = build_targets(_objects(1.0, extra=[[36, 4, 52, 40, 0, -1, 1, np.nan, 0, 1]]), 64, 64, 2, BINS)
    assert ign["mask"].sum() == 1  # the ignore row is no object
    np.testing.assert_array_equal(ign["heatmap"], plain["heatmap"])
    assert np.all(ign["heatmap_weight"][0, 1:10, 9:13] == 0) and ign["heatmap_weight"][0, 10, 9] == 1
    assert ign["heatmap_weight"][0, 1:10, 8].min() == 1 and ign["heatmap_weight"][1].min() == 1


def test_weighted_focal_loss_scales_cells_and_zeroes_ignore_regions():
    g = torch.Generator().manual_seed(0)
    logits, gt = torch.randn(1, 2, 8, 8, generator=g), torch.zeros(1, 2, 8, 8)
    gt[0, 0, 3, 3] = 1.0
    base, n = focal_sum(logits, gt)
    ones, n1 = focal_sum(logits, gt, weight=torch.ones_like(gt))
    assert torch.equal(base, ones) and torch.equal(n, n1)
    half, _ = focal_sum(logits, gt, weight=torch.full_like(gt, 0.5))
    assert torch.allclose(half, 0.5 * base)
    w = torch.ones_like(gt)
    w[0, 1] = 0.0
    only0, _ = focal_sum(logits[:, :1], gt[:, :1])
    assert torch.allclose(focal_sum(logits, gt, weight=w)[0], only0)


class _Bag:
    def __init__(self, frames, objects):
        self.meta = {"frames": frames, "height": 8, "width": 8}
        self.arrays = {"enc": np.zeros(frames, np.int8), "avail": np.ones((frames, 3), bool), "objects": objects}

    def __len__(self):
        return self.meta["frames"]


def test_frame_cache_replaces_a_bags_objects_by_its_label_file(tmp_path):
    gt = np.array([[0, 1, 1, 5, 5, 0, 0, 1, 2.0], [1, 2, 2, 6, 6, 0, 0, 1, 2.0]], np.float32)
    labels = np.array([[1, 0, 0, 4, 4, 1, 7, 1, np.nan, 0.5, 0], [1, 3, 3, 7, 7, 0, -1, 1, np.nan, 0, 1]], np.float32)
    path = write_labels(tmp_path / "l.npy", labels)
    plain = FrameCache([_Bag(2, gt)], ["x"])
    assert plain.objects(1).shape == (1, 8)
    mixed = FrameCache([_Bag(2, gt), _Bag(2, gt)], ["x", "y"], [load_labels(path, 2), None])
    assert mixed.objects(0).shape == (0, 10) and mixed.objects(1).tolist()[0][:5] == [0, 0, 4, 4, 1]
    assert len(mixed.objects(1)) == 2 and mixed.objects(3).tolist() == [[2, 2, 6, 6, 0, 0, 1, 2, 1, 0]]
    from tracker.network.sources import DataError
    np.save(tmp_path / "bad.npy", np.zeros((2, 9), np.float32))
    try:
        load_labels(tmp_path / "bad.npy", 2)
        raise AssertionError("no error")
    except DataError as e:
        assert "11 columns" in str(e)


def test_precision_and_recall_against_known_ground_truth():
    gt = np.array([[0, 0, 10, 20, 0, 1, 1.0, np.nan], [30, 0, 40, 20, 0, 2, 1.0, np.nan],
                   [50, 0, 60, 20, 0, 3, 0.1, np.nan]], np.float32)  # the third is hardly visible: ignored
    pr = PRCounter()
    pr.add([[0, 0, 10, 20], [31, 0, 41, 20], [50, 0, 60, 20], [70, 0, 80, 20]], [1, 1, 1, 1], [0, 0, 0, 0], gt)
    assert pr.result() == {"precision": round(2 / 3, 4), "recall": 1.0, "true_positives": 2, "counted": 3, "gt": 2}

    class Cache:
        def __len__(self):
            return 2

        def objects(self, i):
            return gt if i == 0 else gt[:0]
    rows = np.array([[0, 0, 0, 10, 20, 0, 0, 1, np.nan, 1, 0], [0, 30, 0, 40, 20, 0, 1, 1, np.nan, 1, 1],
                     [1, 5, 5, 9, 9, 0, 2, 1, np.nan, 1, 0]], np.float32)
    teacher = [FrameBoxes(np.array([[0, 0, 10, 20.0]]), np.array([0.9]), np.array([0]), np.zeros((1, 4)),
                          np.ones((1, 1), bool)), FrameBoxes.empty(4, 1)]
    r = score_labels(rows, teacher, Cache())
    assert r["labels"] == {"precision": 0.5, "recall": 0.5, "true_positives": 1, "counted": 2, "gt": 2}
    assert r["teacher"]["precision"] == 1.0 and r["teacher"]["recall"] == 0.5


def test_labelled_share_is_reached_by_repeating_bags():
    from tracker.adapt.rounds import mix
    assert mix(["p1", "p2"], ["l"], 0.3, 8) == (["p1", "p2"] * 7 + ["l"] * 6, 0.3)
    assert mix(["p1", "p2"], ["l"], 0.5, 8) == (["p1", "p2", "l", "l"], 0.5)
    assert mix(["p1"], ["l"], 0.3, 1) == (["p1", "l"], 0.5)  # the closest within max_repeat
    assert mix(["p1"], [], 0.3, 8) == (["p1"], 0.0) and mix(["p1"], ["l"], 0.0, 8) == (["p1"], 0.0)


def test_the_val_tracking_clock_follows_the_val_stride_not_the_label_stride():
    from tracker.adapt.config import AdaptConfig, OfflineConfig, RoundsConfig
    from tracker.adapt.rounds import val_period_s
    cfg = AdaptConfig(offline=OfflineConfig(frame_period_s=0.1), rounds=RoundsConfig(stride=3, val_stride=2))
    assert abs(val_period_s(cfg) - 0.2 / 3) < 1e-12  # 30 Hz bag: every 2nd frame is 1/15 s apart
