"""The TTA teacher: mirrored and tiled passes map back onto the same box, boxes cut by a tile edge are dropped,
fusion scores a box by its best modality subset (cross-modal agreement)."""
import numpy as np

from tracker.adapt.config import TeacherConfig
from tracker.adapt.teacher import Pass, Teacher, cut_by_tile, fits_one_tile, pass_input, unmap_boxes
from tracker.network.preprocess import DEFAULT_NORMALISATION

W = H = 64
SCORE = 0.9


def _bright_box(img):
    ys, xs = np.nonzero(img > 0.5)
    return None if xs.size == 0 else (xs.min(), ys.min(), xs.max() + 1.0, ys.max() + 1.0)


def fake_infer(batch):
    """A 'network' that detects the bright square of its RGB (channel 0) or thermal input exactly."""
    n = batch["rgb"].shape[0]
    h, w = H // 4, W // 4
    out = {"heatmap": np.zeros((n, 2, h, w), np.float32), "size": np.zeros((n, 2, h, w), np.float32),
           "offset": np.zeros((n, 2, h, w), np.float32), "embedding": np.ones((n, 4, h, w), np.float32),
           "distance": np.zeros((n, 1, h, w), np.float32)}
    for b in range(n):
        m = batch["modality"][b]
        box = _bright_box(np.maximum(batch["rgb"][b, 0] * m[0], batch["thermal"][b, 0] * m[1]))
        if box is None:
            continue
        cx, cy = (box[0] + box[2]) / 8, (box[1] + box[3]) / 8
        i, j = int(cx), int(cy)
        out["heatmap"][b, 0, j, i] = SCORE
        out["size"][b, :, j, i] = ((box[2] - box[0]) / 4, (box[3] - box[1]) / 4)
        out["offset"][b, :, j, i] = (cx - i, cy - j)
    return out


class FakeCache:
    def __init__(self, box, rgb=True, thermal=False):
        self.img = np.zeros((H, W), np.float32)
        x1, y1, x2, y2 = box
        self.img[y1:y2, x1:x2] = 1.0
        self.avail = np.array([True, True, False])
        self.rgb, self.thermal = rgb, thermal

    def frame(self, i):
        return None, None, 0, None, self.avail

    def network_inputs(self, i, modality, norm):
        m = np.asarray(modality, bool) & self.avail
        return {"rgb": np.stack([self.img * (m[0] and self.rgb)] * 3),
                "thermal": (self.img * (m[1] and self.thermal))[None].copy(),
                "depth": np.zeros((2, H, W), np.float32), "modality": m.astype(np.float32)}


def test_mirrored_and_tiled_passes_map_back_to_the_input_box():
    cache = FakeCache((10, 12, 18, 28))
    inp = cache.network_inputs(0, (True, True, True), None)
    for p in (Pass(0, True, None), Pass(0, False, (0, 0)), Pass(0, True, (0, 0))):
        found = _bright_box(pass_input(inp, p)["rgb"][0])
        np.testing.assert_allclose(unmap_boxes(np.array([found]), p, W, H)[0], [10, 12, 18, 28])
    assert Pass(0, False, (1, 1)) and _bright_box(pass_input(inp, Pass(0, False, (1, 1)))["rgb"][0]) is None


def test_flip_and_tiles_fuse_to_the_same_box_with_the_score_of_every_view():
    t = Teacher(fake_infer, TeacherConfig(modalities=("all",), flip=True, tiles=True), W, H, 4)
    assert len(t.passes) == 10  # (untiled + 4 tiles) x (plain, mirrored)
    fb = t.frame_boxes(FakeCache((10, 12, 18, 28)), 0, DEFAULT_NORMALISATION)
    assert len(fb) == 1
    np.testing.assert_allclose(fb.boxes[0], [10, 12, 18, 28], atol=1e-5)
    assert abs(fb.scores[0] - SCORE) < 1e-6  # seen by all four views (2 untiled + 2 tiled)


def test_a_box_across_the_tile_edge_is_cut_from_tiles_and_counts_only_untiled_views():
    box = (28, 12, 36, 28)  # crosses x = 32, the inner tile edge
    assert not fits_one_tile(np.array([box], float), W, H, 2.0)[0]
    assert cut_by_tile(np.array([[56.0, 24.0, 64.0, 56.0]]), Pass(0, False, (0, 0)), W, H, 2.0).tolist() == [True]
    assert cut_by_tile(np.array([[0.0, 24.0, 8.0, 56.0]]), Pass(0, True, (0, 0)), W, H, 2.0).tolist() == [True]
    assert cut_by_tile(np.array([[0.0, 24.0, 8.0, 56.0]]), Pass(0, False, (0, 0)), W, H, 2.0).tolist() == [False]
    t = Teacher(fake_infer, TeacherConfig(modalities=("all",)), W, H, 4)
    fb = t.frame_boxes(FakeCache(box), 0, DEFAULT_NORMALISATION)
    assert len(fb) == 1 and abs(fb.scores[0] - SCORE) < 1e-6
    np.testing.assert_allclose(fb.boxes[0], box, atol=1e-5)


def test_a_person_only_thermal_sees_gets_thermals_score_and_its_support():
    cfg = TeacherConfig(modalities=("all", "rgb", "thermal"), tiles=False)
    t = Teacher(fake_infer, cfg, W, H, 4)
    fb = t.frame_boxes(FakeCache((10, 12, 18, 28), rgb=False, thermal=True), 0, DEFAULT_NORMALISATION)
    assert len(fb) == 1 and abs(fb.scores[0] - SCORE) < 1e-6  # not diluted by the blind RGB passes
    assert fb.support[0].tolist() == [True, False, True]
    low = Teacher(fake_infer, TeacherConfig(score_threshold=0.95), W, H, 4)
    assert len(low.frame_boxes(FakeCache((10, 12, 18, 28)), 0, DEFAULT_NORMALISATION)) == 0
