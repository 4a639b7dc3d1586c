"""Metrics against values computed by hand from MS Recommenders' formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from models.metrics import coverage, ranking_metrics


def _test_matrix(relevant: dict[int, list[int]], n_users: int, n_items: int) -> csr_matrix:
    rows = [u for u, items in relevant.items() for _ in items]
    cols = [i for items in relevant.values() for i in items]
    return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_users, n_items))


def test_two_users_by_hand() -> None:
    # user 0: relevant {1, 3, 5}; list [1, 2, 3] -> hits at ranks 1 and 3.
    # user 1: relevant {4};       list [0, 4, 2] -> hit at rank 2.
    test = _test_matrix({0: [1, 3, 5], 1: [4]}, 2, 6)
    recs = np.array([[1, 2, 3], [0, 4, 2]])
    m = ranking_metrics(recs, test, k=3)
    assert m["precision_at_k"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert m["recall_at_k"] == pytest.approx((2 / 3 + 1 / 1) / 2)
    # MS map: sum over hits of (hit index / rank) / |relevant|
    ap0 = (1 / 1 + 2 / 3) / 3
    ap1 = (1 / 2) / 1
    assert m["map"] == pytest.approx((ap0 + ap1) / 2)
    # MS map_at_k: divided by min(|relevant|, k) (3 and 1 here: same as map)
    assert m["map_at_k"] == pytest.approx((ap0 + ap1) / 2)
    dcg0 = 1 / math.log(2) + 1 / math.log(4)
    idcg0 = 1 / math.log(2) + 1 / math.log(3) + 1 / math.log(4)
    dcg1 = 1 / math.log(3)
    idcg1 = 1 / math.log(2)
    assert m["ndcg_at_k"] == pytest.approx((dcg0 / idcg0 + dcg1 / idcg1) / 2)
    assert m["coverage"] == pytest.approx(5 / 6)  # items 0-4 recommended, 5 never


def test_map_at_k_caps_the_denominator_at_k() -> None:
    # 4 relevant, k = 2, both recommended are hits: map = (1 + 1) / 4, map_at_k = 2 / 2.
    test = _test_matrix({0: [0, 1, 2, 3]}, 1, 5)
    m = ranking_metrics(np.array([[0, 1]]), test, k=2)
    assert m["map"] == pytest.approx(0.5)
    assert m["map_at_k"] == pytest.approx(1.0)
    assert m["ndcg_at_k"] == pytest.approx(1.0)  # ideal DCG uses only min(4, k) = 2 positions
    assert m["recall_at_k"] == pytest.approx(0.5)


def test_users_without_test_items_or_lists_follow_ms_rules() -> None:
    # user 0: 1 relevant, hit at rank 1. user 1: no test items (ignored everywhere).
    # user 2: relevant item but an empty list (-1 padding): not a "common user" for
    # precision/recall/map, but counted with 0 gain by ndcg (MS outer join).
    test = _test_matrix({0: [2], 2: [1]}, 3, 4)
    recs = np.array([[2, 0], [1, 3], [-1, -1]])
    m = ranking_metrics(recs, test, k=2)
    assert m["precision_at_k"] == pytest.approx(0.5)
    assert m["recall_at_k"] == pytest.approx(1.0)
    assert m["map"] == pytest.approx(1.0)
    assert m["ndcg_at_k"] == pytest.approx(0.5)


def test_no_hits_and_padding() -> None:
    test = _test_matrix({0: [3]}, 1, 4)
    m = ranking_metrics(np.array([[0, -1]]), test, k=2)
    assert m["precision_at_k"] == 0.0
    assert m["ndcg_at_k"] == 0.0
    assert m["map"] == 0.0


def test_only_first_k_columns_count() -> None:
    test = _test_matrix({0: [5]}, 1, 6)
    m = ranking_metrics(np.array([[0, 1, 5]]), test, k=2)
    assert m["recall_at_k"] == 0.0


def test_coverage_function() -> None:
    assert coverage(np.array([[0, 1], [1, -1]]), n_items=4) == pytest.approx(0.5)


def test_users_argument_maps_rows_to_users() -> None:
    test = _test_matrix({3: [1]}, 4, 3)
    m = ranking_metrics(np.array([[1, 0]]), test, k=2, users=np.array([3]))
    assert m["precision_at_k"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        ranking_metrics(np.array([[1, 0]]), test, k=2, users=np.array([1, 2]))
