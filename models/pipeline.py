"""Train / evaluate from an interactions Parquet file (what the warehouse will produce).

Expected columns: ``user_id``, ``item_id``, ``event_type`` (view, add_to_cart, purchase, rating),
``timestamp`` (datetime or unix seconds) and optionally ``value`` (e.g. rating stars).
One function per step so the CLI and Dagster assets share them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from models.base import Recommender, SideInfo
from models.data import (
    TS,
    EmptyTrainingDataError,
    InteractionMatrix,
    WeightConfig,
    build_matrix,
    interaction_weights,
    time_split,
    timestamp_matrix,
)
from models.evaluate import evaluate
from models.zoo import build

REQUIRED = ("user_id", "item_id", "event_type", "timestamp")


@dataclass
class TrainConfig:
    model_type: str = "ease"
    params: dict[str, Any] = field(default_factory=dict)
    weights: WeightConfig = field(default_factory=WeightConfig)
    test_days: float | None = None
    test_fraction: float | None = 0.2
    k: int = 10


@dataclass
class Prepared:
    train: InteractionMatrix
    test: InteractionMatrix
    side: SideInfo
    split: str


def load_interactions(path: Path | str) -> pl.DataFrame:
    """Read and check the interactions file (clear errors for missing columns or no rows)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"interactions file not found: {path}")
    df = pl.read_parquet(path)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    if df.height == 0:
        raise EmptyTrainingDataError(f"{path}: no interactions")
    return df


def snapshot_id(path: Path | str) -> str:
    """Content hash of the data file: the registry's data snapshot id."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"sha256:{digest[:16]}"


def split_label(config: TrainConfig) -> str:
    if config.test_days is not None:
        return f"time:last-{config.test_days:g}-days"
    return f"time:last-{config.test_fraction:g}-per-user"


def prepare(df: pl.DataFrame, config: TrainConfig) -> Prepared:
    """Time split, then weight and build train/test matrices in the train id space."""
    train_df, test_df = time_split(
        df,
        test_days=config.test_days,
        test_fraction=None if config.test_days is not None else config.test_fraction,
    )
    now = df.select(pl.col(TS).max()).item()
    if isinstance(now, int | float):
        from datetime import UTC, datetime

        now = datetime.fromtimestamp(now, UTC).replace(tzinfo=None)
    train_w = interaction_weights(train_df, config.weights, now=now)
    if train_w.height == 0:
        raise EmptyTrainingDataError("no training interactions left after the split and weights")
    train = build_matrix(train_w)
    test_w = interaction_weights(test_df, WeightConfig(config.weights.kind_weights, None))
    test = build_matrix(test_w, user_ids=train.user_ids, item_ids=train.item_ids)
    side = SideInfo(timestamps=timestamp_matrix(train_w, train))
    return Prepared(train=train, test=test, side=side, split=split_label(config))


def train_and_evaluate(
    df: pl.DataFrame,
    config: TrainConfig,
    *,
    progress: Callable[[str], None] = print,
) -> tuple[Recommender, dict[str, float], Prepared]:
    """Fit the configured model on the train part and score it on the held-out part."""
    data = prepare(df, config)
    progress(
        f"train: {data.train.matrix.nnz} cells, {data.train.shape[0]} users x "
        f"{data.train.shape[1]} items; held out: {data.test.matrix.nnz} cells ({data.split})"
    )
    model = build(config.model_type, config.params)
    model.fit(data.train.matrix, side=data.side, show_progress=False)
    progress(f"fitted {config.model_type}; evaluating top-{config.k}")
    metrics = evaluate(model, data.train.matrix, data.test.matrix, k=config.k)
    progress("  " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    return model, metrics, data


def evaluate_in_space(
    model: Recommender,
    user_ids: Any,
    item_ids: Any,
    df: pl.DataFrame,
    config: TrainConfig,
) -> dict[str, float]:
    """Score an already-trained model on ``df``'s held-out part, in the model's own id space."""
    train_df, test_df = time_split(
        df,
        test_days=config.test_days,
        test_fraction=None if config.test_days is not None else config.test_fraction,
    )
    plain = WeightConfig(config.weights.kind_weights, None)
    history = build_matrix(interaction_weights(train_df, plain), user_ids=user_ids, item_ids=item_ids)
    test = build_matrix(interaction_weights(test_df, plain), user_ids=user_ids, item_ids=item_ids)
    return evaluate(model, history.matrix, test.matrix, k=config.k)
