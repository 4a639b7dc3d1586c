"""Training data prep: weights, decay, id maps and the splits."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from models.data import (
    EmptyTrainingDataError,
    WeightConfig,
    build_matrix,
    interaction_weights,
    stratified_split,
    time_split,
    timestamp_matrix,
)

NOW = datetime(2024, 6, 1)


def _events() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u2", "u2", "u3"],
            "item_id": ["a", "a", "b", "b", "c", "a"],
            "event_type": ["view", "purchase", "add_to_cart", "view", "rating", "refund"],
            "value": [None, None, None, None, 4.0, None],
            "timestamp": [NOW, NOW, NOW - timedelta(days=30), NOW, NOW, NOW],
        }
    )


def test_weights_per_kind_value_and_half_life() -> None:
    cfg = WeightConfig(
        kind_weights={"view": 1.0, "add_to_cart": 2.0, "purchase": 5.0, "rating": 0.5},
        half_life_days=30.0,
    )
    out = interaction_weights(_events(), cfg, now=NOW)
    assert "refund" not in out["event_type"].to_list()  # unknown kinds are dropped
    w = dict(
        zip(zip(out["user_id"], out["item_id"], out["event_type"], strict=False), out["weight"], strict=False)
    )
    assert w[("u1", "b", "add_to_cart")] == pytest.approx(2.0 * 0.5)  # one half-life old
    assert w[("u2", "c", "rating")] == pytest.approx(0.5 * 4.0)
    m = build_matrix(out)
    assert m.user_ids.tolist() == ["u1", "u2"] and m.item_ids.tolist() == ["a", "b", "c"]
    assert m.matrix[m.user_index("u1"), m.item_index("a")] == pytest.approx(6.0)  # view+purchase
    with pytest.raises(KeyError, match="unknown user"):
        m.user_index("zz")


def test_no_decay_and_numeric_timestamps() -> None:
    df = pl.DataFrame(
        {"user_id": [1, 1], "item_id": [7, 8], "event_type": ["view", "view"], "timestamp": [0, 86400 * 365]}
    )
    out = interaction_weights(df, WeightConfig(half_life_days=None))
    assert out["weight"].to_list() == [1.0, 1.0]
    decayed = interaction_weights(df, WeightConfig(half_life_days=365.0))
    assert decayed["weight"].to_list() == pytest.approx([0.5, 1.0])


def test_test_frame_is_mapped_into_train_space() -> None:
    train = build_matrix(pl.DataFrame({"user_id": [1, 2], "item_id": [10, 11], "weight": [1.0, 2.0]}))
    test = build_matrix(
        pl.DataFrame({"user_id": [2, 3], "item_id": [10, 10], "weight": [1.0, 1.0]}),
        user_ids=train.user_ids,
        item_ids=train.item_ids,
    )
    assert test.shape == train.shape and test.matrix.nnz == 1  # unknown user 3 dropped


def test_empty_input_is_a_clear_error() -> None:
    empty = pl.DataFrame(schema={"user_id": pl.Int64, "item_id": pl.Int64, "weight": pl.Float64})
    with pytest.raises(EmptyTrainingDataError):
        build_matrix(empty)


def test_timestamp_matrix_keeps_the_latest_time() -> None:
    df = pl.DataFrame({"user_id": [1, 1], "item_id": [5, 5], "timestamp": [100, 900_000_123]})
    like = build_matrix(df.with_columns(weight=pl.lit(1.0)))
    ts = timestamp_matrix(df, like)
    assert ts[0, 0] == 900_000_123.0  # float64: no precision lost on unix seconds


def _ratings(n_users: int = 30) -> pl.DataFrame:
    rng = np.random.default_rng(1)
    rows = [
        (u, i) for u in range(n_users) for i in rng.choice(200, size=int(rng.integers(5, 30)), replace=False)
    ]
    return pl.DataFrame(rows, schema=["user_id", "item_id"], orient="row")


@pytest.mark.parametrize("method", ["current", "legacy"])
def test_stratified_split_is_per_user_and_seeded(method: str) -> None:
    df = _ratings()
    train, test = stratified_split(df, ratio=0.75, seed=42, method=method)
    assert train.height + test.height == df.height
    counts = df.group_by("user_id").len().sort("user_id")
    tr_counts = dict(train.group_by("user_id").len().iter_rows())
    for user, n in counts.iter_rows():
        expected = int(np.floor(0.75 * n + 1e-9)) if method == "current" else round(0.75 * n)
        assert tr_counts[user] == expected
    again, _ = stratified_split(df, ratio=0.75, seed=42, method=method)
    assert again.equals(train)
    other, _ = stratified_split(df, ratio=0.75, seed=43, method=method)
    assert not other.sort(["user_id", "item_id"]).equals(train.sort(["user_id", "item_id"]))


def test_current_split_matches_the_ms_recipe_on_a_tiny_frame() -> None:
    # MS: np.random.seed(42); r = np.random.rand(n); sort by (user, r); rank/count <= 0.75.
    df = pl.DataFrame({"user_id": [1, 1, 1, 1, 2, 2, 2, 2], "item_id": list(range(8))})
    r = np.random.RandomState(42).rand(8)
    expected = set()
    for user in (1, 2):
        idx = [i for i in range(8) if df["user_id"][i] == user]
        expected |= {df["item_id"][i] for i in sorted(idx, key=lambda i: r[i])[:3]}
    train, _ = stratified_split(df, ratio=0.75, seed=42)
    assert set(train["item_id"].to_list()) == expected


def test_time_splits() -> None:
    base = datetime(2024, 1, 1)
    df = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 1, 2, 2],
            "item_id": [1, 2, 3, 4, 1, 2],
            "timestamp": [base + timedelta(days=d) for d in (0, 1, 2, 10, 3, 9)],
        }
    )
    train, test = time_split(df, test_days=2)
    assert sorted(test["item_id"].to_list()) == [2, 4]  # days 9 and 10
    train, test = time_split(df, test_fraction=0.25)
    assert sorted(zip(test["user_id"], test["item_id"], strict=False)) == [(1, 4), (2, 2)]
    assert train.height == 4
    with pytest.raises(ValueError):
        time_split(df)
