"""Matching edge cases: empty and all-gated cost matrices, sparse = dense, candidate search, registries."""
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from tracker.common.config import ConfigError
from tracker.core import COST_FUNCTIONS, MOTION_MODELS, Entry
from tracker.core.boxes import iou_matrix, overlapping_pairs
from tracker.core.matching import assign, linear_assignment


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0)])
def test_empty_cost_matrix(shape):
    r, c = linear_assignment(np.zeros(shape), 0.5)
    assert len(r) == 0 and len(c) == 0


def test_all_gated_cost_matrix():
    assert len(linear_assignment(np.full((4, 3), np.inf), 0.8)[0]) == 0
    assert len(linear_assignment(np.full((4, 3), 0.9), 0.8)[0]) == 0


def test_threshold_and_one_to_one():
    cost = np.array([[0.1, 0.2, np.inf], [0.15, np.inf, np.inf], [np.inf, np.inf, 0.95]])
    r, c = linear_assignment(cost, 0.8)
    assert list(zip(r.tolist(), c.tolist())) == [(0, 1), (1, 0)]


def test_sparse_assignment_matches_dense_hungarian():
    rng = np.random.default_rng(3)
    for _ in range(30):
        n, m = rng.integers(1, 12, 2)
        cost = rng.uniform(0, 1, (n, m))
        cost[rng.uniform(size=(n, m)) < 0.6] = np.inf
        r, c = linear_assignment(cost, 0.7)
        assert len(set(r)) == len(r) and len(set(c)) == len(c)
        assert np.all(cost[r, c] <= 0.7)
        ref = np.where(np.isfinite(cost) & (cost <= 0.7), cost - 10.0, 0.0)  # max-cardinality, then min cost
        a, b = linear_sum_assignment(ref)
        keep = ref[a, b] < 0
        assert len(r) == keep.sum()
        assert np.isclose(cost[r, c].sum(), cost[a[keep], b[keep]].sum())


def test_overlapping_pairs_equals_dense_iou():
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 500, (60, 2))
    wh = rng.uniform(5, 80, (60, 2))
    a = np.concatenate([xy, xy + wh], 1)
    xy2 = rng.uniform(0, 500, (70, 2))
    b = np.concatenate([xy2, xy2 + rng.uniform(5, 80, (70, 2))], 1)
    r, c = overlapping_pairs(a, b)
    dense = np.argwhere(iou_matrix(a, b) > 0)
    assert sorted(zip(r.tolist(), c.tolist())) == sorted(map(tuple, dense.tolist()))
    assert len(assign(r, c, np.full(len(r), 0.1), 0.5)[0]) <= min(len(a), len(b))


def test_registry_rejects_unknown_names_listing_valid():
    with pytest.raises(ConfigError, match=r"unknown cost function 'hungarian'; valid: embedding, fused, iou"):
        COST_FUNCTIONS.get("hungarian")
    with pytest.raises(ConfigError, match=r"unknown motion model 'ctrv'; valid: cv_box, cv_box_3d"):
        MOTION_MODELS.get("ctrv")


def test_registry_declares_needs_and_is_immutable():
    assert COST_FUNCTIONS.get("embedding").needs == {"embeddings"}
    assert COST_FUNCTIONS.get("position").needs == {"3d"}
    assert COST_FUNCTIONS.get("fused").needs == frozenset()
    extended = COST_FUNCTIONS.with_entry(Entry("zero", lambda p, cfg: np.zeros(len(p.rows))))
    assert "zero" in extended and "zero" not in COST_FUNCTIONS
    with pytest.raises(ValueError, match="unknown needs"):
        COST_FUNCTIONS.with_entry(Entry("x", None, frozenset({"lidar"})))


def test_overlapping_pairs_sparse_and_dense_paths_agree():
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 300, (40, 2))
    a = np.concatenate([xy, xy + rng.uniform(5, 60, (40, 2))], 1)
    xy2 = rng.uniform(0, 300, (50, 2))
    b = np.concatenate([xy2, xy2 + rng.uniform(5, 60, (50, 2))], 1)
    r1, c1 = overlapping_pairs(a, b, dense_max_pairs=0)
    r2, c2 = overlapping_pairs(a, b, dense_max_pairs=10 ** 9)
    assert np.array_equal(r1, r2) and np.array_equal(c1, c2)
