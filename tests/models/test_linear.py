"""DLAE and its session rows against hand-computed closed forms on tiny matrices."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from models.base import SideInfo
from models.linear import DLAE, session_rows


def test_session_rows_split_on_user_and_time_gap() -> None:
    # user 0: items 0,1 at t=1,10 then item 2 at t=500 (new session); user 1: items 1,2 together.
    ts = csr_matrix(([1.0, 10.0, 500.0, 7.0, 7.0], ([0, 0, 0, 1, 1], [0, 1, 2, 1, 2])), shape=(2, 3))
    values = csr_matrix(np.array([[2.0, 3.0, 4.0], [0.0, 5.0, 6.0]]))
    rows = session_rows(values, ts, gap_seconds=60).toarray()
    np.testing.assert_array_equal(rows, [[2.0, 3.0, 0.0], [0.0, 0.0, 4.0], [0.0, 5.0, 6.0]])
    assert session_rows(values, ts, gap_seconds=1000).shape[0] == 2


def test_dlae_is_the_dropout_closed_form() -> None:
    x = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 1, 0], [0, 0, 1, 1]], dtype=float)
    model = DLAE(dropout=0.5, l2=2.0, power=1.0).fit(csr_matrix(x))
    g = x.T @ x
    expected = np.linalg.solve(g + np.diag(1.0 * np.diag(g) + 2.0), g)  # 0.5 / (1 - 0.5) = 1
    np.testing.assert_allclose(model.weights, expected, rtol=1e-5, atol=1e-6)
    # dropout 0 is plain ridge regression of X on itself
    ridge = DLAE(dropout=0.0, l2=3.0, power=1.0).fit(csr_matrix(x))
    np.testing.assert_allclose(ridge.weights, np.linalg.solve(g + 3.0 * np.eye(4), g), rtol=1e-5, atol=1e-6)


def test_dlae_session_term_adds_the_session_gram() -> None:
    x = np.array([[1, 1, 1, 0], [0, 1, 1, 1], [1, 0, 0, 1]], dtype=float)
    ts = csr_matrix(np.array([[100, 110, 9000, 0], [0, 50, 60, 70], [5, 0, 0, 6]], dtype=float))
    side = SideInfo(timestamps=ts)
    model = DLAE(dropout=0.5, l2=1.0, power=1.0, session_gap_seconds=60, session_weight=2.0)
    model.fit(csr_matrix(x), side=side)
    s = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 1, 1, 1], [1, 0, 0, 1]], dtype=float)
    g = x.T @ x + 2.0 * s.T @ s
    expected = np.linalg.solve(g + np.diag(np.diag(g) + 1.0), g)
    np.testing.assert_allclose(model.weights, expected, rtol=1e-5, atol=1e-6)
    plain = DLAE(dropout=0.5, l2=1.0, power=1.0).fit(csr_matrix(x), side=side)
    assert not np.allclose(plain.weights, model.weights)  # timestamps ignored unless weighted


def test_dlae_session_term_needs_timestamps(clustered) -> None:
    train, _, _ = clustered
    with pytest.raises(ValueError, match="timestamps"):
        DLAE(session_weight=1.0).fit(train)
    with pytest.raises(ValueError, match="same shape"):
        DLAE(session_weight=1.0).fit(train, side=SideInfo(timestamps=csr_matrix((2, 2))))
    with pytest.raises(ValueError, match="dropout"):
        DLAE(dropout=1.0)


def test_dlae_uses_sessions_to_rank_on_the_clustered_data(clustered) -> None:
    from models.evaluate import evaluate

    train, test, side = clustered
    model = DLAE(dropout=0.5, l2=5.0, session_weight=1.0, session_gap_seconds=45.0).fit(train, side=side)
    assert evaluate(model, train, test, k=5)["ndcg_at_k"] > 0.3
