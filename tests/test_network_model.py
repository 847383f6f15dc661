"""Model shapes and configs, LID depth bins, targets, losses, decoding and AP."""
import numpy as np
import pytest
import torch

from network_helpers import tiny_config, tiny_net
from tracker.common.config import ConfigError
from tracker.network.decode import decode
from tracker.network.heads import depth_to_bin, lid_bin_centres
from tracker.network.losses import LossWeights, contrastive_identity_loss, detection_losses, focal_loss
from tracker.network.metrics import average_precision
from tracker.network.model import OUTPUT_NAMES, ExportWrapper, load_model_config
from tracker.network.targets import build_targets


def _inputs(n=2, h=64, w=64):
    return torch.rand(n, 3, h, w), torch.rand(n, 1, h, w), torch.rand(n, 2, h, w), torch.ones(n, 3)


@pytest.mark.parametrize("fusion,deformable", [("diffusion", True), ("concat", False)])
def test_output_shapes(fusion, deformable):
    net = tiny_net(fusion=fusion, deformable=deformable)
    outs = ExportWrapper(net)(*_inputs())
    shapes = dict(zip(OUTPUT_NAMES, [tuple(o.shape) for o in outs]))
    assert shapes == {"heatmap": (2, 2, 16, 16), "size": (2, 2, 16, 16), "offset": (2, 2, 16, 16),
                      "embedding": (2, 8, 16, 16), "distance": (2, 1, 16, 16)}
    emb = outs[3]
    assert torch.allclose(emb.norm(dim=1), torch.ones(2, 16, 16), atol=1e-4)
    d = outs[4]
    assert float(d.detach().min()) >= 0.5 - 1e-4 and float(d.detach().max()) <= 60.0 + 1e-3


def test_named_configs_load_and_validate():
    full = load_model_config("full")
    emb = load_model_config("embedded")
    assert full.channels == (16, 16, 32, 64, 128, 256, 512) and full.levels == (1, 1, 1, 2, 2, 1)
    assert (full.input_width, full.input_height) == (640, 512) and full.embedding_dim == 128
    assert emb.input_width == 320 and emb.input_height == 256 and emb.embedding_dim <= 128
    with pytest.raises(ConfigError, match="multiples of 32"):
        tiny_config(input_width=70)
    with pytest.raises(ConfigError, match="fusion"):
        tiny_config(fusion="sum")
    with pytest.raises(ConfigError, match="unknown key"):
        tiny_config(colour="red")


def test_diffusion_training_returns_noise_loss_and_inference_is_deterministic():
    net = tiny_net()
    net.train()
    out = net(*_inputs())
    assert out["diffusion_loss"] is not None and torch.isfinite(out["diffusion_loss"])
    net.eval()
    x = _inputs()
    with torch.no_grad():
        a, b = net(*x)["heatmap"], net(*x)["heatmap"]
    assert torch.equal(a, b)


def test_modality_flag_zero_ignores_that_input():
    net = tiny_net()
    rgb, th, dep, _ = _inputs(1)
    flags = torch.tensor([[1.0, 0.0, 1.0]])
    with torch.no_grad():
        a = net(rgb, th, dep, flags)["heatmap"]
        b = net(rgb, th * 0 + 5.0, dep, flags)["heatmap"]
    assert torch.allclose(a, b, atol=1e-6)


def test_lid_bins_follow_fdta_eqs_11_12():
    k, dmin, dmax = 4, 0.0, 10.0
    c = lid_bin_centres(k, dmin, dmax)
    size = 2 * (dmax - dmin) / (k * (k + 1))  # eq. 11 = 1.0
    assert np.allclose(c[:k], [(i + 0.5) ** 2 * size / 2 - size / 8 + dmin for i in range(k)])
    assert c[-1] == dmax and np.all(np.diff(c[:k]) > 0) and np.all(np.diff(np.diff(c[:k])) > 0)
    assert depth_to_bin(np.array([0.0, 3.1, 100.0]), c).tolist() == [0, 2, 4]


def test_targets_place_centre_size_offset():
    bins = lid_bin_centres(6, 0.5, 60.0)
    objs = np.array([[10, 20, 30, 60, 0, 7, 1.0, 5.0],     # person
                     [0, 0, 4, 4, 1, 8, 0.05, 9.0]], np.float32)  # invisible -> skipped
    t = build_targets(objs, 64, 64, 2, bins)
    assert t["mask"].sum() == 1
    cx, cy = 20 / 4, 40 / 4
    assert t["index"][0] == int(cy) * 16 + int(cx)
    assert np.allclose(t["size"][0], [5.0, 10.0]) and np.allclose(t["offset"][0], [cx - int(cx), cy - int(cy)])
    assert t["heatmap"][0, int(cy), int(cx)] == 1.0 and t["heatmap"][1].max() == 0
    assert t["ident"][0] == 7 and t["depth_bin"][0] == depth_to_bin(5.0, bins)


def test_losses_finite_and_backprop():
    net = tiny_net()
    net.train()
    bins = net.heads.bin_centres.numpy()
    objs = np.array([[10, 20, 30, 60, 0, 1, 1.0, 5.0], [40, 10, 60, 30, 1, 2, 1.0, 20.0]], np.float32)
    tg = [build_targets(objs, 64, 64, 2, bins) for _ in range(2)]
    tgt = {k: torch.from_numpy(np.stack([t[k] for t in tg])) for k in tg[0]}
    out = net(*_inputs())
    L = detection_losses(out, tgt, net.heads.bin_centres, torch.tensor([0, 0]), LossWeights())
    assert all(torch.isfinite(v) for v in L.values())
    assert float(L["identity"]) > 0  # the same two ids in two frames: positive pairs exist
    L["total"].backward()
    assert net.stems["thermal"].base_layer[0].weight.grad is not None


def _box_outputs(size, offset):
    """Network outputs whose only cell (index 0 of a 1x1 map) predicts ``size`` / ``offset`` (output cells)."""
    return {"size": torch.tensor(size, dtype=torch.float32).view(1, 2, 1, 1),
            "offset": torch.tensor(offset, dtype=torch.float32).view(1, 2, 1, 1)}


def test_giou_term_is_zero_for_the_target_box_and_scale_invariant_unlike_l1():
    """The same relative error (10 % too wide) costs a 2-cell and a 20-cell box the same GIoU term; the L1
    size term is 10x larger for the large box. A box off its target costs more the further off it is."""
    from tracker.network.losses import giou_sum
    m = torch.ones(1, 1, 1)

    def giou(pred_size, pred_offset, size, offset=(0.5, 0.5)):
        tgt = {"index": torch.zeros(1, 1, dtype=torch.long), "size": torch.tensor([[size]], dtype=torch.float32),
               "offset": torch.tensor([[offset]], dtype=torch.float32)}
        return float(giou_sum(_box_outputs(pred_size, pred_offset), tgt, m))
    assert giou((2.0, 4.0), (0.5, 0.5), (2.0, 4.0)) == pytest.approx(0.0, abs=1e-6)
    small, large = giou((2.2, 4.0), (0.5, 0.5), (2.0, 4.0)), giou((22.0, 40.0), (0.5, 0.5), (20.0, 40.0))
    assert small > 0.05 and small == pytest.approx(large, rel=1e-4)
    assert giou((2.0, 4.0), (1.5, 0.5), (2.0, 4.0)) > giou((2.0, 4.0), (0.9, 0.5), (2.0, 4.0)) > 0
    assert giou((2.0, 4.0), (9.0, 9.0), (2.0, 4.0)) > 1.0  # disjoint: GIoU below 0 still has a gradient


def test_giou_weight_zero_leaves_the_total_loss_unchanged_and_on_adds_it():
    net = tiny_net()
    bins = net.heads.bin_centres.numpy()
    objs = np.array([[10, 20, 30, 60, 0, 1, 1.0, 5.0]], np.float32)
    tgt = {k: torch.from_numpy(v[None]) for k, v in build_targets(objs, 64, 64, 2, bins).items()}
    torch.manual_seed(0)
    net.eval()
    out = net(*[x[:1] for x in _inputs()])
    off = detection_losses(out, tgt, net.heads.bin_centres, torch.tensor([0]), LossWeights())
    on = detection_losses(out, tgt, net.heads.bin_centres, torch.tensor([0]), LossWeights(box_giou=2.0))
    assert float(off["box_giou"]) > 0 and float(on["box_giou"]) == pytest.approx(float(off["box_giou"]))
    assert float(on["total"]) == pytest.approx(float(off["total"]) + 2.0 * float(off["box_giou"]), rel=1e-5)


def test_contrastive_loss_prefers_matching_identities():
    ids = torch.tensor([0, 1, 0, 1])
    frames = torch.tensor([0, 0, 1, 1])
    good = torch.nn.functional.normalize(torch.tensor([[1.0, 0], [0, 1.0], [1.0, 0.1], [0.1, 1.0]]), dim=1)
    bad = good[[0, 1, 3, 2]]
    assert contrastive_identity_loss(good, ids, frames, 0.1) < contrastive_identity_loss(bad, ids, frames, 0.1)


def test_focal_loss_lower_for_correct_heatmap():
    gt = torch.zeros(1, 1, 8, 8)
    gt[0, 0, 4, 4] = 1.0
    good = torch.full_like(gt, -6.0)
    good[0, 0, 4, 4] = 6.0
    assert focal_loss(good, gt) < focal_loss(torch.zeros_like(gt), gt)


def test_decode_boxes_scores_threshold_topk():
    h = w = 16
    out = {"heatmap": np.zeros((1, 2, h, w), np.float32), "size": np.zeros((1, 2, h, w), np.float32),
           "offset": np.zeros((1, 2, h, w), np.float32), "embedding": np.ones((1, 4, h, w), np.float32),
           "distance": np.full((1, 1, h, w), 7.0, np.float32)}
    out["heatmap"][0, 1, 5, 3] = 0.9
    out["heatmap"][0, 0, 10, 12] = 0.5
    out["heatmap"][0, 0, 1, 1] = 0.1
    out["size"][0, :, 5, 3] = (2.0, 4.0)
    out["offset"][0, :, 5, 3] = (0.5, 0.25)
    d = decode(out, top_k=5, score_threshold=0.3)
    assert d.classes.tolist() == [1, 0] and np.allclose(d.scores, [0.9, 0.5])
    assert np.allclose(d.boxes[0], np.array([3.5 - 1, 5.25 - 2, 3.5 + 1, 5.25 + 2]) * 4)
    assert np.allclose(np.linalg.norm(d.embeddings, axis=1), 1) and np.allclose(d.distances, 7.0)
    assert len(decode(out, top_k=1, score_threshold=0.0).scores) == 1


def test_average_precision():
    gt = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([False, False]))]
    assert average_precision([(np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([0.9, 0.8]))], gt) == 1.0
    half = average_precision([(np.array([[0, 0, 10, 10], [50, 50, 60, 60]]), np.array([0.9, 0.8]))], gt)
    assert half == pytest.approx(0.5)
    # a detection on an ignored object is neither TP nor FP
    gi = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([False, True]))]
    assert average_precision([(np.array([[20, 20, 30, 30], [0, 0, 10, 10]]), np.array([0.9, 0.8]))], gi) == 1.0
