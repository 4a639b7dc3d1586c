"""Top-k ranking metrics, defined exactly as Microsoft Recommenders' ``python_evaluation``.

Why re-implement instead of importing: that library is a heavy pandas stack; these functions work
on the arrays our models already return and are checked against hand-computed values in tests.

Definitions (relevance = every test interaction; ``n_users`` = users that have test items *and* a
recommendation list, MS Recommenders' "common users"):

- ``precision_at_k``  = sum_u hits_u / k / n_users
- ``recall_at_k``     = sum_u hits_u / |rel_u| / n_users
- ``map``             = sum_u (sum_{hit i} i / rank_i) / |rel_u| / n_users  (MS ``map``; it is what
  the published MovieLens table's MAP column was computed with, before MS renamed it)
- ``map_at_k``        = same but divided by min(|rel_u|, k)  (MS ``map_at_k`` since v1.2)
- ``ndcg_at_k``       = binary-gain DCG / ideal DCG over the top min(|rel_u|, k), averaged over every
  user with test items (MS ``ndcg_at_k``: its outer join counts test users without a list as 0)
- ``coverage``        = distinct recommended items / catalogue size
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

METRIC_NAMES = ("map", "map_at_k", "ndcg_at_k", "precision_at_k", "recall_at_k", "coverage")


def _hits(recommended: NDArray[np.int64], test: csr_matrix, users: NDArray[np.int64]) -> NDArray:
    """Boolean (n_users, k) matrix: is the recommended item in the user's test set."""
    hits = np.zeros(recommended.shape, dtype=bool)
    for row, user in enumerate(users):
        relevant = test.indices[test.indptr[user] : test.indptr[user + 1]]
        if relevant.size:
            hits[row] = np.isin(recommended[row], relevant) & (recommended[row] >= 0)
    return hits


def ranking_metrics(
    recommended: NDArray[np.int64],
    test: csr_matrix,
    *,
    k: int = 10,
    users: NDArray[np.int64] | None = None,
    n_items: int | None = None,
) -> dict[str, float]:
    """All metrics of a ranked recommendation matrix against a test interaction matrix.

    ``recommended[r]`` is the ranked item list (``-1`` pads short lists) for user ``users[r]``
    (default: row r is user r). Only the first ``k`` columns are used.
    """
    recommended = np.asarray(recommended, dtype=np.int64)[:, :k]
    if users is None:
        users = np.arange(recommended.shape[0])
    users = np.asarray(users, dtype=np.int64)
    if users.shape[0] != recommended.shape[0]:
        raise ValueError("users and recommended must have the same number of rows")
    test = csr_matrix(test)
    n_relevant_all = np.diff(test.indptr)
    n_rel = n_relevant_all[users]
    has_list = (recommended >= 0).any(axis=1)
    common = (n_rel > 0) & has_list
    n_common = int(common.sum())
    n_test_users = int((n_relevant_all > 0).sum())
    n_items = n_items if n_items is not None else test.shape[1]
    recommended_items = np.unique(recommended[recommended >= 0])
    coverage = float(recommended_items.size / n_items) if n_items else 0.0
    if n_common == 0:
        zero = dict.fromkeys(METRIC_NAMES, 0.0)
        zero["coverage"] = coverage
        return zero

    hits = _hits(recommended[common], test, users[common])
    rel = n_rel[common].astype(np.float64)
    n_hits = hits.sum(axis=1)
    ranks = np.arange(1, hits.shape[1] + 1, dtype=np.float64)
    # i-th hit at rank r contributes i / r (precision at each hit position).
    precision_at_hit = np.cumsum(hits, axis=1) / ranks * hits
    ap_sum = precision_at_hit.sum(axis=1)
    dcg = (hits / np.log1p(ranks)).sum(axis=1)
    ideal_cum = np.cumsum(1.0 / np.log1p(ranks))
    idcg = ideal_cum[np.minimum(rel, k).astype(np.int64) - 1]
    return {
        "map": float((ap_sum / rel).sum() / n_common),
        "map_at_k": float((ap_sum / np.minimum(rel, k)).sum() / n_common),
        "ndcg_at_k": float((dcg / idcg).sum() / n_test_users),
        "precision_at_k": float((n_hits / k).sum() / n_common),
        "recall_at_k": float((n_hits / rel).sum() / n_common),
        "coverage": coverage,
    }


def precision_at_k(recommended: NDArray, test: csr_matrix, k: int = 10) -> float:
    """MS Recommenders ``precision_at_k``."""
    return ranking_metrics(recommended, test, k=k)["precision_at_k"]


def recall_at_k(recommended: NDArray, test: csr_matrix, k: int = 10) -> float:
    """MS Recommenders ``recall_at_k``."""
    return ranking_metrics(recommended, test, k=k)["recall_at_k"]


def map_at_k(recommended: NDArray, test: csr_matrix, k: int = 10) -> float:
    """MS Recommenders ``map_at_k`` (normalised by min(|relevant|, k))."""
    return ranking_metrics(recommended, test, k=k)["map_at_k"]


def mean_average_precision(recommended: NDArray, test: csr_matrix, k: int = 10) -> float:
    """MS Recommenders ``map`` (normalised by |relevant|), the published table's MAP."""
    return ranking_metrics(recommended, test, k=k)["map"]


def ndcg_at_k(recommended: NDArray, test: csr_matrix, k: int = 10) -> float:
    """MS Recommenders ``ndcg_at_k`` with binary relevance."""
    return ranking_metrics(recommended, test, k=k)["ndcg_at_k"]


def coverage(recommended: NDArray, n_items: int) -> float:
    """Catalogue coverage: share of the catalogue that appears in any list."""
    recommended = np.asarray(recommended)
    return float(np.unique(recommended[recommended >= 0]).size / n_items) if n_items else 0.0
