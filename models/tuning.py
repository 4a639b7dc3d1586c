"""Hyper-parameter search with a fixed budget and seed, on a validation split carved from TRAIN.

Never tune on test: the tuner only sees ``train``; it splits it again (per-user stratified, its
own seed), scores each sampled configuration on that validation part and returns the trials
best-first. Same inputs + same seed -> same trials, so every search is reproducible.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from models.base import SideInfo
from models.data import InteractionMatrix, build_matrix, stratified_split, timestamp_matrix
from models.evaluate import evaluate
from models.zoo import build


@dataclass
class Trial:
    """One sampled configuration and its validation metrics."""

    params: dict[str, Any]
    metrics: dict[str, float]
    seconds: float


@dataclass
class SearchResult:
    model_type: str
    metric: str
    budget: int
    seed: int
    trials: list[Trial] = field(default_factory=list)

    @property
    def best(self) -> Trial:
        return self.trials[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_type": self.model_type,
            "metric": self.metric,
            "budget": self.budget,
            "seed": self.seed,
            "best_params": self.best.params,
            "best_metrics": self.best.metrics,
            "trials": [{"params": t.params, "metrics": t.metrics, "seconds": t.seconds} for t in self.trials],
        }


def set_path(params: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path such as ``components.0.params.l2`` or ``weights.1``."""
    keys = path.split(".")
    node: Any = params
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def sample_configs(
    base: dict[str, Any], space: dict[str, Sequence[Any]], budget: int, seed: int
) -> list[dict[str, Any]]:
    """``budget`` distinct configurations: the base first, then seeded random draws."""
    rng = np.random.default_rng(seed)
    configs = [copy.deepcopy(base)]
    seen = {repr(base)}
    attempts = 0
    while len(configs) < budget and attempts < budget * 50:
        attempts += 1
        cfg = copy.deepcopy(base)
        for path in sorted(space):
            choices = space[path]
            set_path(cfg, path, choices[int(rng.integers(len(choices)))])
        key = repr(cfg)
        if key not in seen:
            seen.add(key)
            configs.append(cfg)
    return configs


@dataclass
class ValidationData:
    """Train/validation matrices (same id space) and side info, all from the training frame."""

    train: InteractionMatrix
    valid: InteractionMatrix
    side: SideInfo


def carve_validation(
    train_df: pl.DataFrame,
    *,
    ratio: float = 0.75,
    seed: int = 7,
    weight: pl.Expr | None = None,
    item_texts: Callable[[InteractionMatrix], list[str]] | None = None,
    item_features: Callable[[InteractionMatrix], NDArray] | None = None,
) -> ValidationData:
    """Split TRAIN again (per-user stratified) into fit and validation parts."""
    fit_df, valid_df = stratified_split(train_df, ratio=ratio, seed=seed)
    if weight is not None:
        fit_df = fit_df.with_columns(weight.alias("weight"))
        valid_df = valid_df.with_columns(weight.alias("weight"))
    fit_m = build_matrix(fit_df)
    valid_m = build_matrix(valid_df, user_ids=fit_m.user_ids, item_ids=fit_m.item_ids)
    timestamps = timestamp_matrix(fit_df, fit_m) if "timestamp" in fit_df.columns else None
    texts = item_texts(fit_m) if item_texts else None
    features = item_features(fit_m) if item_features else None
    return ValidationData(
        fit_m, valid_m, SideInfo(timestamps=timestamps, item_texts=texts, item_features=features)
    )


def random_search(
    model_type: str,
    base: dict[str, Any],
    space: dict[str, Sequence[Any]],
    data: ValidationData | Sequence[ValidationData],
    *,
    budget: int = 20,
    seed: int = 42,
    metric: str = "ndcg_at_k",
    k: int = 10,
    on_trial: Callable[[int, Trial], None] | None = None,
) -> SearchResult:
    """Fit and score ``budget`` sampled configurations on the validation split(s).

    With several splits (carved with different seeds) a trial's metrics are their mean: one
    split's noise (~0.003 nDCG on ML-100K) is as large as the differences being searched for.
    """
    folds = [data] if isinstance(data, ValidationData) else list(data)
    if not folds:
        raise ValueError("random_search needs at least one validation split")
    result = SearchResult(model_type=model_type, metric=metric, budget=budget, seed=seed)
    for i, params in enumerate(sample_configs(base, space, budget, seed)):
        start = time.perf_counter()
        per_fold = []
        for fold in folds:
            model = build(model_type, params)
            model.fit(fold.train.matrix, side=fold.side)
            per_fold.append(evaluate(model, fold.train.matrix, fold.valid.matrix, k=k))
        metrics = {name: float(np.mean([m[name] for m in per_fold])) for name in per_fold[0]}
        trial = Trial(params=params, metrics=metrics, seconds=time.perf_counter() - start)
        result.trials.append(trial)
        if on_trial:
            on_trial(i, trial)
    result.trials.sort(key=lambda t: -t.metrics[metric])
    return result
