"""GF-CF and user-kNN against hand-computed closed forms on tiny matrices."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from models.graph import GFCF, UserKNN

X = np.array(
    [[1, 1, 0, 0, 1], [1, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 0, 0], [0, 0, 1, 1, 1]], dtype=float
)


def _normalised(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d_u, d_i = x.sum(axis=1), x.sum(axis=0)
    return x / np.sqrt(d_u)[:, None] / np.sqrt(d_i)[None, :], d_i


def test_gfcf_linear_filter_is_the_normalised_item_gram() -> None:
    r, _ = _normalised(X)
    model = GFCF(alpha=0.0).fit(csr_matrix(X))
    np.testing.assert_allclose(model.weights, r.T @ r, rtol=1e-5, atol=1e-6)


def test_gfcf_ideal_filter_uses_the_top_singular_vectors() -> None:
    r, d_i = _normalised(X)
    _, _, vt = np.linalg.svd(r)
    for k in (1, 2, 3):
        v = vt[:k].T
        expected = r.T @ r + 0.5 * np.diag(d_i**-0.5) @ v @ v.T @ np.diag(d_i**0.5)
        model = GFCF(k=k, alpha=0.5).fit(csr_matrix(X))
        np.testing.assert_allclose(model.weights, expected, rtol=1e-4, atol=1e-5)
    # more users than items takes the item-Gram branch: same filter
    tall = np.vstack([X, X[:3]])
    r, d_i = _normalised(tall)
    v = np.linalg.svd(r)[2][:2].T
    expected = r.T @ r + 0.5 * np.diag(d_i**-0.5) @ v @ v.T @ np.diag(d_i**0.5)
    np.testing.assert_allclose(
        GFCF(k=2, alpha=0.5).fit(csr_matrix(tall)).weights, expected, rtol=1e-4, atol=1e-5
    )


def test_userknn_scores_are_neighbour_votes() -> None:
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, 0.0)  # a user is not their own neighbour
    model = UserKNN(k=2, power=2.0).fit(csr_matrix(X))
    scores = model._score_users(np.arange(5), csr_matrix(X))
    for u in range(5):
        top = np.argsort(-sims[u], kind="stable")[:2]
        expected = (sims[u, top] ** 2) @ X[top]
        np.testing.assert_allclose(scores[u], expected, rtol=1e-5)
