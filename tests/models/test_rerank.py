"""The two-stage reranker: its holdout, what it learns, and that it only learns from training cells."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from models.base import SideInfo
from models.evaluate import evaluate
from models.rerank import FEATURES, ListwiseRerank, _softmax_fit, holdout_split


def test_holdout_split_is_per_user_disjoint_and_seeded(clustered) -> None:
    train, _, _ = clustered
    keep, hold = holdout_split(train, 0.25, seed=3)
    assert keep.multiply(hold).nnz == 0  # no cell on both sides
    np.testing.assert_array_equal((keep + hold).toarray(), train.toarray())  # values kept
    counts = np.diff(csr_matrix(train).indptr)
    np.testing.assert_array_equal(np.diff(hold.indptr), np.rint(0.25 * counts))
    again, _ = holdout_split(train, 0.25, seed=3)
    other, _ = holdout_split(train, 0.25, seed=4)
    np.testing.assert_array_equal(again.toarray(), keep.toarray())
    assert (other != keep).nnz > 0


def _cluster_flags(n_items: int) -> np.ndarray:
    return np.eye(4, dtype=np.float32)[np.arange(n_items) // 10]


def test_reranker_learns_item_attributes_a_weak_base_lacks(clustered) -> None:
    train, test, side = clustered
    side = SideInfo(timestamps=side.timestamps, item_features=_cluster_flags(train.shape[1]))
    base = {"type": "popularity", "params": {}}
    model = ListwiseRerank(base=base, n_candidates=40, l2=0.1).fit(train, side=side)
    assert model.coef[FEATURES.index("genre_affinity")] > 0
    popularity = evaluate(model.base_model, train, test, k=5)["ndcg_at_k"]
    assert evaluate(model, train, test, k=5)["ndcg_at_k"] > popularity + 0.2


def test_reranker_learns_only_from_training_cells(clustered) -> None:
    # Cells outside the training matrix (the test set) cannot change what is learnt: the same
    # train gives the same model whatever test set sits beside it, and flipping the held-out
    # share changes the weights (so the labels do come from the training matrix).
    train, _, side = clustered
    side = SideInfo(timestamps=side.timestamps, item_features=_cluster_flags(train.shape[1]))
    base = {"type": "ease", "params": {"l2": 5.0}}
    a = ListwiseRerank(base=base, n_candidates=20).fit(train, side=side)
    b = ListwiseRerank(base=base, n_candidates=20).fit(train.copy(), side=side)
    np.testing.assert_array_equal(a.coef, b.coef)
    c = ListwiseRerank(base=base, n_candidates=20, holdout=0.4).fit(train, side=side)
    assert not np.allclose(a.coef, c.coef)
    # training cells are never recommended back
    ids, _ = a.recommend(np.arange(train.shape[0]), train, N=30)
    for u in range(train.shape[0]):
        assert not set(train.indices[train.indptr[u] : train.indptr[u + 1]]) & set(ids[u].tolist())


def test_lists_continue_past_the_candidates_in_base_order(clustered) -> None:
    train, _, side = clustered
    model = ListwiseRerank(base={"type": "ease", "params": {"l2": 5.0}}, n_candidates=5).fit(train, side=side)
    ids, scores = model.recommend(np.arange(4), train, N=20)
    assert (ids >= 0).all() and np.isfinite(scores).all()
    base_ids, _ = model.base_model.recommend(np.arange(4), train, N=20)
    for row in range(4):
        assert set(ids[row, :5]) == set(base_ids[row, :5])  # reordered candidates first
        np.testing.assert_array_equal(ids[row, 5:], base_ids[row, 5:])


def test_reranker_checks_its_inputs(clustered) -> None:
    train, _, _ = clustered
    with pytest.raises(ValueError, match="holdout"):
        ListwiseRerank(base={"type": "ease"}, holdout=1.0)
    with pytest.raises(ValueError, match="one row per item"):
        ListwiseRerank(base={"type": "ease"}).fit(train, side=SideInfo(item_features=np.ones((3, 2))))


def test_release_feature_follows_the_training_timeline(clustered) -> None:
    # Recomputed by hand from the raw timestamps: an item whose first rating falls on a later day
    # than the user's last rating is flagged.
    train, _, side = clustered
    day = 86400.0
    stamps = csr_matrix(side.timestamps, copy=True)
    stamps.data = stamps.data + day * (np.repeat(np.arange(train.shape[0]), np.diff(stamps.indptr)) // 15)
    model = ListwiseRerank(base={"type": "popularity", "params": {}}, n_candidates=40)
    model.fit(train, side=SideInfo(timestamps=stamps))
    users = np.arange(train.shape[0])
    feats, local, items = model._candidates(model.base_model, users, train)
    days = ((stamps.tocoo().data - stamps.data.min()) // day).astype(int)
    coo = stamps.tocoo()
    last = np.full(train.shape[0], -1)
    np.maximum.at(last, coo.row, days)
    first = np.full(train.shape[1], 10**6)
    np.minimum.at(first, coo.col, days)
    released = feats[:, FEATURES.index("first_rated_after_user_left")]
    np.testing.assert_array_equal(released, first[items] > last[local])
    assert 0 < released.mean() < 1  # the timeline makes both cases occur


def test_softmax_fit_reaches_the_penalised_likelihood_optimum() -> None:
    """The learnt weights are where the objective, computed here by hand, is flat (numerical
    gradient ~0), and the feature that marks the positives gets the weight."""
    rng = np.random.default_rng(0)
    sizes = [5, 8, 6, 7]
    starts = np.cumsum([0, *sizes[:-1]])
    y = np.zeros(sum(sizes))
    y[[1, 6, 9, 16, 20, 22]] = 1.0  # group 2 has two positives
    x = np.column_stack([rng.normal(size=y.size), y + 0.5 * rng.normal(size=y.size)])
    l2 = 0.3

    def objective(w: np.ndarray) -> float:
        total = 0.0
        for start, size in zip(starts, sizes, strict=True):
            s, t = x[start:start + size] @ w, y[start:start + size]
            total += -(t * (s - np.log(np.exp(s).sum()))).sum()
        return total / len(sizes) + 0.5 * l2 * w @ w

    w = _softmax_fit(x, y, starts, l2)
    step = 1e-6
    numeric = [(objective(w + step * e) - objective(w - step * e)) / (2 * step) for e in np.eye(2)]
    assert np.allclose(numeric, 0.0, atol=1e-4)
    assert w[1] > 0.5 and abs(w[0]) < w[1]
