"""Blend: a weighted sum of per-user standardised scores of several models.

Why standardise: models score on different scales (EASE weights, ALS dot products, transition
probabilities); z-scoring each user's candidate scores (history excluded) makes weights comparable
and lets a tuner search them. Heterogeneous models make different mistakes, so a blend beats each.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from models.base import Recommender, SideInfo


def standardise(
    scores: NDArray, mask_rows: NDArray | None = None, mask_cols: NDArray | None = None
) -> NDArray:
    """Row-wise z-score; masked cells (history; distinct cells) are ignored in the stats and set to 0.

    Sums with the masked cells zeroed instead of nanmean/nanstd: same numbers, ~2.4x faster (it
    runs on every component's full score matrix inside the reranker's fit).
    """
    s = np.array(scores, dtype=np.float64)
    n_rows, n_cols = s.shape
    masked = mask_rows is not None and mask_cols is not None
    counts = np.full(n_rows, float(n_cols))
    if masked:
        s[mask_rows, mask_cols] = 0.0
        counts -= np.bincount(np.asarray(mask_rows), minlength=n_rows)
    safe = np.maximum(counts, 1.0)
    mu = np.where(counts > 0, s.sum(axis=1) / safe, 0.0)
    s -= mu[:, None]
    if masked:
        s[mask_rows, mask_cols] = 0.0
    sd = np.where(counts > 0, np.sqrt(np.einsum("ij,ij->i", s, s) / safe), 0.0)
    s /= (sd + 1e-9)[:, None]
    return np.nan_to_num(s, nan=0.0, copy=False)


class Blend(Recommender):
    """Weighted blend of component models given as ``{"type": name, "params": {...}}`` specs."""

    name = "blend"

    def __init__(
        self,
        *,
        components: list[dict[str, Any]],
        weights: list[float],
        random_state: int = 42,
    ) -> None:
        super().__init__(random_state=random_state)
        if len(components) != len(weights) or not components:
            raise ValueError("a blend needs one weight per component and at least one component")
        from models.zoo import build

        self.components = [dict(c) for c in components]
        self.weights = [float(w) for w in weights]
        self.models: list[Recommender] = [
            build(c["type"], {**c.get("params", {}), "random_state": random_state}) for c in self.components
        ]

    def get_params(self) -> dict[str, Any]:
        return {
            "components": self.components,
            "weights": self.weights,
            "random_state": self.random_state,
        }

    def fit(
        self,
        user_items: csr_matrix,
        *,
        show_progress: bool = False,
        side: SideInfo | None = None,
    ) -> Self:
        for model, weight in zip(self.models, self.weights, strict=True):
            if weight != 0.0:
                model.fit(user_items, show_progress=show_progress, side=side)
        self._mark_fitted(user_items)
        return self

    def _active(self) -> list[tuple[Recommender, float]]:
        return [(m, w) for m, w in zip(self.models, self.weights, strict=True) if w != 0.0]

    def _score_users(self, userids: NDArray[np.int64], user_items: csr_matrix) -> NDArray:
        rows, cols = csr_matrix(user_items).nonzero()
        total = np.zeros((userids.size, self.n_items))
        for model, weight in self._active():
            total += weight * standardise(model._score_users(userids, user_items), rows, cols)
        return total

    def _item_similarity_rows(self, itemids: NDArray[np.int64]) -> NDArray:
        total = np.zeros((itemids.size, self.n_items))
        for model, weight in self._active():
            sims = np.array(model._item_similarity_rows(itemids), dtype=np.float64)
            total += weight * standardise(sims, np.arange(itemids.size), itemids)
        return total

    def state(self) -> dict[str, NDArray]:
        arrays: dict[str, NDArray] = {}
        for i, (model, weight) in enumerate(zip(self.models, self.weights, strict=True)):
            if weight != 0.0:
                for key, value in model.full_state().items():
                    arrays[f"c{i}.{key}"] = value
        return arrays

    def _load_state(self, arrays: dict[str, NDArray]) -> None:
        for i, model in enumerate(self.models):
            prefix = f"c{i}."
            sub = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            if sub:
                self.models[i] = type(model).from_state(model.get_params(), sub)
