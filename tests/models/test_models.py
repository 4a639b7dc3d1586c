"""Every model honours the interface, is deterministic with a seed, and learns something."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from models.base import NotFittedError, SideInfo, UnknownIdError, top_n
from models.content import ContentTfidf
from models.evaluate import evaluate
from models.zoo import MODEL_TYPES, build

SPECS: dict[str, dict] = {
    "popularity": {},
    "itemknn": {"k": 10},
    "als": {"factors": 8, "regularization": 0.1, "iterations": 8, "binarize": True},
    "bpr": {"factors": 8, "iterations": 30, "learning_rate": 0.05},
    "ease": {"l2": 5.0},
    "dlae": {"dropout": 0.5, "l2": 5.0, "session_gap_seconds": 45.0, "session_weight": 1.0},
    "rp3beta": {"alpha": 1.0, "beta": 0.3, "top_k": 20},
    "temporal": {"window": 3, "max_gap_seconds": 100},
    "content": {},
    "gfcf": {"k": 4, "alpha": 0.3},
    "userknn": {"k": 10},
    "rerank": {"base": {"type": "ease", "params": {"l2": 5.0}}, "n_candidates": 10},
    "blend": {
        "components": [
            {"type": "ease", "params": {"l2": 5.0}},
            {"type": "als", "params": {"factors": 8, "iterations": 5, "binarize": True}},
        ],
        "weights": [1.0, 0.5],
    },
}


def test_every_registered_type_is_covered() -> None:
    assert set(SPECS) == set(MODEL_TYPES)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_interface_and_determinism(name: str, clustered) -> None:
    train, _, side = clustered
    a = build(name, SPECS[name]).fit(train, side=side)
    b = build(name, SPECS[name]).fit(train, side=side)
    users = np.arange(train.shape[0])
    ids_a, scores_a = a.recommend(users, train, N=5)
    ids_b, scores_b = b.recommend(users, train, N=5)
    assert ids_a.shape == (train.shape[0], 5) and scores_a.shape == ids_a.shape
    np.testing.assert_array_equal(ids_a, ids_b)
    np.testing.assert_allclose(scores_a, scores_b, rtol=1e-5)
    # training items are filtered out
    for u in range(train.shape[0]):
        seen = set(train.indices[train.indptr[u] : train.indptr[u + 1]].tolist())
        assert not seen & set(ids_a[u][ids_a[u] >= 0].tolist())
    # scores are sorted best-first
    finite = np.where(np.isfinite(scores_a), scores_a, -np.inf)
    assert (np.diff(finite, axis=1) <= 1e-6).all()
    sim_ids, _ = a.similar_items(np.arange(3), N=4)
    assert sim_ids.shape == (3, 4)
    assert all(i not in sim_ids[i] for i in range(3))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_state_roundtrip(name: str, clustered) -> None:
    train, _, side = clustered
    model = build(name, SPECS[name]).fit(train, side=side)
    arrays = model.full_state()
    assert all(a.dtype != object for a in arrays.values())  # savable without pickle
    clone = type(model).from_state(model.get_params(), arrays)
    users = np.arange(10)
    np.testing.assert_array_equal(
        model.recommend(users, train, N=5)[0], clone.recommend(users, train, N=5)[0]
    )


@pytest.mark.parametrize("name", ["itemknn", "als", "ease", "dlae", "rp3beta", "gfcf", "userknn", "blend"])
def test_collaborative_models_beat_popularity(name: str, clustered) -> None:
    train, test, side = clustered
    pop = evaluate(build("popularity").fit(train), train, test, k=5)
    model = evaluate(build(name, SPECS[name]).fit(train, side=side), train, test, k=5)
    assert model["ndcg_at_k"] > pop["ndcg_at_k"] + 0.1


def test_errors_are_clear(clustered) -> None:
    train, _, _ = clustered
    model = build("ease", {"l2": 5.0})
    with pytest.raises(NotFittedError):
        model.recommend(0, train)
    model.fit(train)
    with pytest.raises(UnknownIdError, match="unknown user"):
        model.recommend(np.array([0, 10_000]), train)
    with pytest.raises(UnknownIdError, match="unknown item"):
        model.similar_items(-1)
    with pytest.raises(ValueError, match="timestamps"):
        build("temporal").fit(train)
    with pytest.raises(ValueError, match="unknown model type"):
        build("nope")


def test_single_user_and_filter_items(clustered) -> None:
    train, _, _ = clustered
    model = build("ease", {"l2": 5.0}).fit(train)
    ids, scores = model.recommend(0, train, N=3, filter_items=np.arange(5))
    assert ids.shape == (3,) and not set(ids.tolist()) & set(range(5))
    unfiltered, _ = model.recommend(0, train, N=40, filter_already_liked_items=False)
    assert set(train.indices[train.indptr[0] : train.indptr[1]]) <= set(unfiltered.tolist())


def test_top_n_pads_and_breaks_ties_by_id() -> None:
    ids, vals = top_n(np.array([[1.0, 3.0, 3.0, -np.inf]]), 5)
    assert ids.tolist() == [[1, 2, 0, -1, -1]]
    assert vals[0, 0] == 3.0


def test_content_similar_to_text_for_a_cold_item(clustered) -> None:
    train, _, side = clustered
    model = ContentTfidf().fit(train, side=side)
    ids, scores = model.similar_to_text("a new cluster2 genre2 film", N=5)
    assert all(20 <= i < 30 for i in ids if i >= 0)
    assert scores[0] > 0
    clone = ContentTfidf.from_state(model.get_params(), model.full_state())
    np.testing.assert_array_equal(
        clone.similar_to_text("cluster2 genre2", N=5)[0], model.similar_to_text("cluster2 genre2", N=5)[0]
    )


def test_content_needs_one_text_per_item(clustered) -> None:
    train, _, _ = clustered
    with pytest.raises(ValueError, match="one text per item"):
        ContentTfidf().fit(train, side=SideInfo(item_texts=["only one"]))


def test_blend_ignores_zero_weight_components(clustered) -> None:
    train, _, _ = clustered
    blend = build(
        "blend",
        {
            "components": [{"type": "ease", "params": {"l2": 5.0}}, {"type": "temporal"}],
            "weights": [1.0, 0.0],
        },
    ).fit(train)  # temporal would need timestamps: proves it is skipped
    alone = build("ease", {"l2": 5.0}).fit(train)
    np.testing.assert_array_equal(
        blend.recommend(np.arange(5), train)[0], alone.recommend(np.arange(5), train)[0]
    )


def test_recommend_accepts_rows_of_just_the_users(clustered) -> None:
    train, _, _ = clustered
    model = build("ease", {"l2": 5.0}).fit(train)
    users = np.array([3, 7])
    full = model.recommend(users, train)[0]
    rows_only = model.recommend(users, csr_matrix(train[users]))[0]
    np.testing.assert_array_equal(full, rows_only)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_fit_and_recommend_leave_the_input_matrix_alone(name: str, clustered) -> None:
    # A model that binarised its input in place changed the matrix every later model saw.
    train, _, side = clustered
    for dtype in (np.float32, np.float64):
        x = csr_matrix(train, dtype=dtype, copy=True)
        before = x.toarray().copy()
        model = build(name, SPECS[name]).fit(x, side=side)
        model.recommend(np.arange(x.shape[0]), x, N=5)
        np.testing.assert_array_equal(x.toarray(), before)


def test_als_thread_count_does_not_change_the_factors(clustered) -> None:
    train, _, _ = clustered
    params = {"factors": 8, "regularization": 0.1, "iterations": 8, "binarize": True}
    one = build("als", {**params, "num_threads": 1}).fit(train)
    two = build("als", {**params, "num_threads": 2}).fit(train)
    np.testing.assert_array_equal(one.item_factors, two.item_factors)
    np.testing.assert_array_equal(one.user_factors, two.user_factors)


def test_standardise_ignores_and_zeroes_the_masked_cells() -> None:
    from models.ensemble import standardise

    scores = np.array([[1.0, 2.0, 3.0, 10.0], [4.0, 4.0, 0.0, 8.0], [5.0, 6.0, 7.0, 8.0]])
    rows, cols = np.array([0, 2, 2, 2, 2]), np.array([3, 0, 1, 2, 3])  # row 2 fully masked
    z = standardise(scores, rows, cols)
    np.testing.assert_allclose(z[0], [-np.sqrt(1.5), 0.0, np.sqrt(1.5), 0.0], rtol=1e-6)
    np.testing.assert_allclose(z[1], (scores[1] - 4.0) / np.sqrt(8.0), rtol=1e-6)
    np.testing.assert_array_equal(z[2], 0.0)
    np.testing.assert_array_equal(scores[0], [1.0, 2.0, 3.0, 10.0])  # input left alone


def test_temporal_dense_and_sparse_sums_agree(clustered, monkeypatch) -> None:
    # The adjacency is summed densely for small catalogues and sparsely above DENSE_CELLS.
    import models.sequence as sequence

    train, _, side = clustered
    dense = build("temporal", {"window": 4, "max_gap_seconds": 100}).fit(train, side=side)
    monkeypatch.setattr(sequence, "DENSE_CELLS", 0)
    sparse = build("temporal", {"window": 4, "max_gap_seconds": 100}).fit(train, side=side)
    assert dense.weights.nnz > 0
    np.testing.assert_allclose(dense.weights.toarray(), sparse.weights.toarray(), rtol=1e-6)
    np.testing.assert_allclose(dense.weights.sum(axis=1)[dense.weights.getnnz(axis=1) > 0], 1.0, rtol=1e-5)
