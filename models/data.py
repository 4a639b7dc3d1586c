"""Training data prep: interactions (polars) -> weighted user x item CSR matrix, id maps and splits.

Why a weighted matrix: implicit-feedback models (ALS, EASE, ...) read confidence from the cell
value, so a purchase should count more than a view and last week's view more than last year's.
Weights per interaction kind and an exponential time decay (half-life) are configurable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

USER, ITEM, KIND, VALUE, TS = "user_id", "item_id", "event_type", "value", "timestamp"

DEFAULT_KIND_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "add_to_cart": 3.0,
    "purchase": 5.0,
    "rating": 1.0,  # multiplied by the rating value (1-5 stars)
}


class EmptyTrainingDataError(ValueError):
    """Raised when there is nothing to train on (no rows after filtering)."""


@dataclass(frozen=True)
class WeightConfig:
    """How one interaction row becomes a matrix cell contribution.

    weight = kind_weights[event_type] * value (1 when missing) * 0.5 ** (age_days / half_life_days)
    Rows of a kind not listed are dropped (so unknown event types never leak into training).
    """

    kind_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_KIND_WEIGHTS))
    half_life_days: float | None = 30.0

    def to_dict(self) -> dict[str, object]:
        return {"kind_weights": dict(self.kind_weights), "half_life_days": self.half_life_days}


@dataclass
class InteractionMatrix:
    """A CSR user x item matrix plus the id maps back to the source ids (row i -> user_ids[i])."""

    matrix: csr_matrix
    user_ids: NDArray
    item_ids: NDArray

    def __post_init__(self) -> None:
        self._user_index = {u: i for i, u in enumerate(self.user_ids.tolist())}
        self._item_index = {t: i for i, t in enumerate(self.item_ids.tolist())}

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape  # type: ignore[return-value]

    def user_index(self, user_id: object) -> int:
        """Row of a source user id; KeyError with a clear message when unknown."""
        try:
            return self._user_index[user_id]
        except KeyError:
            raise KeyError(f"unknown user id {user_id!r}") from None

    def item_index(self, item_id: object) -> int:
        """Column of a source item id; KeyError with a clear message when unknown."""
        try:
            return self._item_index[item_id]
        except KeyError:
            raise KeyError(f"unknown item id {item_id!r}") from None


def _index_of(values: pl.Series, ids: NDArray) -> NDArray[np.int64]:
    """Map source ids to contiguous positions in ``ids`` (-1 when absent)."""
    lookup = pl.DataFrame({"__id": pl.Series(ids), "__pos": np.arange(len(ids), dtype=np.int64)})
    lookup = lookup.with_columns(pl.col("__id").cast(values.dtype))
    joined = pl.DataFrame({"__id": values}).join(lookup, on="__id", how="left", maintain_order="left")
    return joined["__pos"].fill_null(-1).to_numpy()


def interaction_weights(
    df: pl.DataFrame, config: WeightConfig, *, now: datetime | None = None
) -> pl.DataFrame:
    """Add a ``weight`` column (see :class:`WeightConfig`) and drop rows of unknown kinds."""
    kinds = pl.DataFrame(
        {KIND: list(config.kind_weights), "__kw": list(config.kind_weights.values())},
        schema={KIND: pl.Utf8, "__kw": pl.Float64},
    )
    out = df.join(kinds, on=KIND, how="inner", maintain_order="left")
    value = pl.col(VALUE).cast(pl.Float64).fill_null(1.0) if VALUE in out.columns else pl.lit(1.0)
    weight = pl.col("__kw") * value
    if config.half_life_days and TS in out.columns:
        ts = pl.col(TS)
        if out.schema[TS].is_numeric():
            ts = pl.from_epoch(ts, time_unit="s")
        ref = pl.lit(now) if now is not None else ts.max()
        age_days = (ref - ts).dt.total_seconds() / 86400.0
        weight = weight * (0.5 ** (age_days.clip(lower_bound=0.0) / config.half_life_days))
    return out.with_columns(weight.alias("weight")).drop("__kw")


def build_matrix(
    df: pl.DataFrame,
    *,
    user_ids: NDArray | None = None,
    item_ids: NDArray | None = None,
    weight_col: str = "weight",
    agg: str = "sum",
    dtype: type = np.float32,
) -> InteractionMatrix:
    """Sum weights per (user, item) into a CSR matrix.

    Id maps default to the sorted distinct ids of ``df``; pass the train maps to put a test frame
    in the same space (rows with ids outside the maps are dropped: they cannot be scored).
    """
    if df.height == 0 and (user_ids is None or item_ids is None):
        raise EmptyTrainingDataError("no interactions to build a matrix from")
    if user_ids is None:
        user_ids = df[USER].unique().sort().to_numpy()
    if item_ids is None:
        item_ids = df[ITEM].unique().sort().to_numpy()
    rows = _index_of(df[USER], user_ids)
    cols = _index_of(df[ITEM], item_ids)
    weights = df[weight_col].cast(pl.Float64).to_numpy() if weight_col in df.columns else None
    if weights is None:
        weights = np.ones(df.height)
    keep = (rows >= 0) & (cols >= 0)
    rows, cols, weights = rows[keep], cols[keep], weights[keep]
    if agg == "max":  # keep the largest value per cell (e.g. the latest timestamp)
        order = np.lexsort((-weights, cols, rows))
        rows, cols, weights = rows[order], cols[order], weights[order]
        first = np.ones(rows.size, dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, weights = rows[first], cols[first], weights[first]
    elif agg != "sum":
        raise ValueError("agg must be 'sum' or 'max'")
    matrix = csr_matrix((weights.astype(dtype), (rows, cols)), shape=(len(user_ids), len(item_ids)))
    matrix.sum_duplicates()
    matrix.sort_indices()
    return InteractionMatrix(matrix=matrix, user_ids=np.asarray(user_ids), item_ids=np.asarray(item_ids))


def stratified_split(
    df: pl.DataFrame,
    *,
    ratio: float = 0.75,
    seed: int = 42,
    by: str = USER,
    method: str = "current",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-user random split, exactly MS Recommenders' ``python_stratified_split``.

    Same recipe, so the same rows land in train on the same data and seed.
    ``method="current"`` (recommenders >= 1.0): one legacy-numpy random number per row in input
    order, sort each user's rows by it, keep rank/count <= ratio in train.
    ``method="legacy"`` (reco_utils, 2019-2021, when the published MovieLens table was made): each
    user's rows, in input order, are shuffled by ``RandomState(seed).permutation`` (pandas
    ``sample(frac=1, random_state=seed)``) and the first ``round(ratio * n)`` go to train.
    """
    if not 0.0 < ratio < 1.0:
        raise ValueError("ratio must be in (0, 1)")
    if method == "legacy":
        return _legacy_stratified_split(df, ratio=ratio, seed=seed, by=by)
    if method != "current":
        raise ValueError("method must be 'current' or 'legacy'")
    rand = np.random.RandomState(seed).rand(df.height)
    ranked = (
        df.with_columns(pl.Series("__rand", rand))
        .sort([by, "__rand"])
        .with_columns(((pl.int_range(pl.len()).over(by) + 1) / pl.len().over(by)).alias("__frac"))
    )
    train = ranked.filter(pl.col("__frac") <= ratio).drop("__rand", "__frac")
    test = ranked.filter(pl.col("__frac") > ratio).drop("__rand", "__frac")
    return train, test


def _legacy_stratified_split(
    df: pl.DataFrame, *, ratio: float, seed: int, by: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    groups = df.with_row_index("__row").group_by(by, maintain_order=True).agg(pl.col("__row"))
    train_rows: list[np.ndarray] = []
    for rows in groups["__row"].to_list():
        rows = np.asarray(rows)
        shuffled = rows[np.random.RandomState(seed).permutation(rows.size)]
        train_rows.append(shuffled[: round(ratio * rows.size)])
    in_train = np.zeros(df.height, dtype=bool)
    if train_rows:
        in_train[np.concatenate(train_rows)] = True
    mask = pl.Series(in_train)
    return df.filter(mask), df.filter(~mask)


def time_split(
    df: pl.DataFrame,
    *,
    test_days: float | None = None,
    test_fraction: float | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Time-based split for shop data: the future is never used to predict the past.

    ``test_days``: every interaction in the last N days (of the data) is test.
    ``test_fraction``: each user's latest fraction of interactions is test (at least one when the
    user has two or more). Exactly one of the two must be given.
    """
    if (test_days is None) == (test_fraction is None):
        raise ValueError("give exactly one of test_days or test_fraction")
    if df.height == 0:
        raise EmptyTrainingDataError("no interactions to split")
    ts = pl.col(TS)
    if df.schema[TS].is_numeric():
        ts = pl.from_epoch(ts, time_unit="s")
    if test_days is not None:
        cutoff = df.select(ts.max()).item() - timedelta(days=test_days)
        is_test = ts > cutoff
        return df.filter(~is_test), df.filter(is_test)
    assert test_fraction is not None
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be in (0, 1)")
    ranked = df.with_columns(
        ts.rank("ordinal").over(USER).alias("__rank"), pl.len().over(USER).alias("__n")
    ).with_columns(
        pl.max_horizontal(
            (pl.col("__n") * test_fraction).round(0),
            (pl.col("__n") >= 2).cast(pl.Float64),
        ).alias("__n_test")
    )
    is_test = pl.col("__rank") > pl.col("__n") - pl.col("__n_test")
    cols = df.columns
    return ranked.filter(~is_test).select(cols), ranked.filter(is_test).select(cols)


def timestamp_matrix(df: pl.DataFrame, like: InteractionMatrix) -> csr_matrix:
    """CSR of each (user, item)'s latest unix time, aligned with ``like`` (sequence models)."""
    ts = pl.col(TS)
    if not df.schema[TS].is_numeric():
        ts = ts.dt.epoch(time_unit="s")
    frame = df.with_columns(ts.cast(pl.Float64).alias("__ts"))
    return build_matrix(
        frame,
        user_ids=like.user_ids,
        item_ids=like.item_ids,
        weight_col="__ts",
        agg="max",
        dtype=np.float64,
    ).matrix
