"""Evaluate any :class:`~models.base.Recommender` the same way: batched top-k, shared metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from models.base import Recommender
from models.metrics import ranking_metrics


@dataclass
class Evaluation:
    """Metrics plus the wall-clock cost of fitting and of recommending."""

    metrics: dict[str, float]
    fit_seconds: float
    recommend_seconds: float

    def to_dict(self) -> dict[str, float]:
        return {
            **self.metrics,
            "fit_seconds": self.fit_seconds,
            "recommend_seconds": self.recommend_seconds,
        }


def evaluate(model: Recommender, train: csr_matrix, test: csr_matrix, *, k: int = 10) -> dict[str, float]:
    """Metrics of a fitted model: top-k for every user with test items, training items removed."""
    test = csr_matrix(test)
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    ids, _ = model.recommend(users, train, N=k, filter_already_liked_items=True)
    return ranking_metrics(ids, test, k=k, users=users, n_items=train.shape[1])


def fit_and_evaluate(model: Recommender, train: csr_matrix, test: csr_matrix, *, k: int = 10) -> Evaluation:
    """Fit on ``train`` then :func:`evaluate`, timing both steps."""
    start = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    metrics = evaluate(model, train, test, k=k)
    return Evaluation(metrics, fit_seconds, time.perf_counter() - start)
