"""The one interface every recommender honours (after implicit's ``RecommenderBase``).

``fit(user_items)``, batched ``recommend(userids, user_items, N)`` returning ``(ids, scores)``
arrays, ``similar_items(itemids, N)``, a seeded ``random_state``; plus ``get_params`` and
``state``/``from_state`` so the registry can save any model as plain numpy arrays + JSON (no pickle).
Most models only implement ``fit``, ``_score_users`` and ``_item_similarity_rows``: ranking,
filtering and batching live here once.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

BATCH = 1024


@dataclass(frozen=True)
class SideInfo:
    """Optional training inputs beyond the matrix, for the models that use them.

    ``timestamps``: CSR aligned with ``user_items`` holding each cell's latest unix time (sequence
    models). ``item_texts``: one text per item column (content model). ``item_features``: dense
    (n_items, n_features) item attributes such as genre flags (reranker).
    """

    timestamps: csr_matrix | None = None
    item_texts: list[str] | None = None
    item_features: NDArray | None = None


class NotFittedError(RuntimeError):
    """The model was asked to recommend before ``fit``."""


class UnknownIdError(KeyError):
    """A user or item index outside the fitted matrix."""


def top_n(scores: NDArray[np.floating], n: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Row-wise top-n of a dense score matrix; ``-inf`` cells become id -1 (padding).

    Ties break on the lower item id so results are deterministic.
    """
    n_items = scores.shape[1]
    n_eff = min(n, n_items)
    # argpartition then a stable sort of the small slice; the lexsort key breaks ties by id.
    part = (
        np.argpartition(-scores, n_eff - 1, axis=1)[:, :n_eff]
        if n_eff < n_items
        else (np.tile(np.arange(n_items), (scores.shape[0], 1)))
    )
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    ids = np.take_along_axis(part, order, axis=1).astype(np.int64)
    vals = np.take_along_axis(part_scores, order, axis=1).astype(np.float32)
    ids[~np.isfinite(vals)] = -1
    if n_eff < n:
        ids = np.pad(ids, ((0, 0), (0, n - n_eff)), constant_values=-1)
        vals = np.pad(vals, ((0, 0), (0, n - n_eff)), constant_values=-np.inf)
    return ids, vals


class Recommender(ABC):
    """Base class: subclasses set ``name`` and implement fit / scoring."""

    name: ClassVar[str] = "base"

    def __init__(self, *, random_state: int = 42) -> None:
        self.random_state = random_state
        self.n_users = 0
        self.n_items = 0
        self._fitted = False

    # -- to implement -------------------------------------------------------------------------
    @abstractmethod
    def fit(
        self,
        user_items: csr_matrix,
        *,
        show_progress: bool = False,
        side: SideInfo | None = None,
    ) -> Self:
        """Learn from a user x item weighted CSR matrix (``side`` only for models that need it)."""

    @abstractmethod
    def _score_users(self, userids: NDArray[np.int64], user_items: csr_matrix) -> NDArray:
        """Dense (len(userids), n_items) scores; ``user_items`` rows are those users' history."""

    @abstractmethod
    def _item_similarity_rows(self, itemids: NDArray[np.int64]) -> NDArray:
        """Dense (len(itemids), n_items) item-to-item similarity."""

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serialisable); ``type(self)(**params)`` rebuilds it.

        Read off the constructor's signature, as scikit-learn does: every model keeps each
        argument under its own name. Models whose arguments are other models override this."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    @abstractmethod
    def state(self) -> dict[str, NDArray]:
        """Fitted arrays to save (npz)."""

    @abstractmethod
    def _load_state(self, arrays: dict[str, NDArray]) -> None:
        """Restore fitted arrays produced by :meth:`state`."""

    # -- shared -------------------------------------------------------------------------------
    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, NDArray]) -> Self:
        model = cls(**params)
        model.n_users = int(arrays["__n_users"])
        model.n_items = int(arrays["__n_items"])
        model._load_state(arrays)
        model._fitted = True
        return model

    def full_state(self) -> dict[str, NDArray]:
        """State plus the matrix shape, ready for ``np.savez``."""
        self._check_fitted()
        arrays = dict(self.state())
        arrays["__n_users"] = np.asarray(self.n_users)
        arrays["__n_items"] = np.asarray(self.n_items)
        return arrays

    def _mark_fitted(self, user_items: csr_matrix) -> None:
        self.n_users, self.n_items = user_items.shape
        self._fitted = True

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise NotFittedError(f"{self.name}: call fit() first")

    def _check_users(self, userids: NDArray[np.int64]) -> None:
        if userids.size and (userids.min() < 0 or userids.max() >= self.n_users):
            bad = userids[(userids < 0) | (userids >= self.n_users)][:5].tolist()
            raise UnknownIdError(f"{self.name}: unknown user index(es) {bad}")

    def _check_items(self, itemids: NDArray[np.int64]) -> None:
        if itemids.size and (itemids.min() < 0 or itemids.max() >= self.n_items):
            bad = itemids[(itemids < 0) | (itemids >= self.n_items)][:5].tolist()
            raise UnknownIdError(f"{self.name}: unknown item index(es) {bad}")

    def recommend(
        self,
        userids: NDArray[np.int64] | int,
        user_items: csr_matrix,
        N: int = 10,
        filter_already_liked_items: bool = True,
        filter_items: NDArray[np.int64] | None = None,
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top-N item ids and scores for each user (rows; -1 pads when fewer items qualify).

        ``user_items`` is either the full user x item matrix (``n_users`` rows, indexed by user
        id) or, as in implicit 0.7, exactly the rows of ``userids`` in order.
        """
        self._check_fitted()
        single = np.isscalar(userids)
        users = np.atleast_1d(np.asarray(userids, dtype=np.int64))
        self._check_users(users)
        user_items = csr_matrix(user_items)
        if user_items.shape[0] == self.n_users:
            rows = user_items[users]
        elif user_items.shape[0] == users.size:
            rows = user_items
        else:
            raise ValueError(
                f"user_items has {user_items.shape[0]} rows: expected {self.n_users} (all users) "
                f"or {users.size} (one per requested user)"
            )
        all_ids, all_scores = [], []
        for start in range(0, users.size, BATCH):
            batch = users[start : start + BATCH]
            history = rows[start : start + BATCH]
            scores = np.asarray(self._score_users(batch, history), dtype=np.float64)
            if filter_already_liked_items:
                r, c = history.nonzero()
                scores[r, c] = -np.inf
            if filter_items is not None and len(filter_items):
                scores[:, np.asarray(filter_items)] = -np.inf
            ids, vals = top_n(scores, N)
            all_ids.append(ids)
            all_scores.append(vals)
        ids = np.vstack(all_ids) if all_ids else np.empty((0, N), dtype=np.int64)
        vals = np.vstack(all_scores) if all_scores else np.empty((0, N), dtype=np.float32)
        return (ids[0], vals[0]) if single else (ids, vals)

    def similar_items(
        self, itemids: NDArray[np.int64] | int, N: int = 10
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """N most similar items to each item (the item itself excluded)."""
        self._check_fitted()
        single = np.isscalar(itemids)
        items = np.atleast_1d(np.asarray(itemids, dtype=np.int64))
        self._check_items(items)
        out_ids, out_vals = [], []
        for start in range(0, items.size, BATCH):
            batch = items[start : start + BATCH]
            sims = np.asarray(self._item_similarity_rows(batch), dtype=np.float64)
            sims[np.arange(batch.size), batch] = -np.inf
            ids, vals = top_n(sims, N)
            out_ids.append(ids)
            out_vals.append(vals)
        ids, vals = np.vstack(out_ids), np.vstack(out_vals)
        return (ids[0], vals[0]) if single else (ids, vals)


def cosine_rows(vectors: NDArray, rows: NDArray[np.int64]) -> NDArray:
    """Cosine similarity of ``vectors[rows]`` against all rows (dense item embeddings)."""
    norms = np.linalg.norm(vectors, axis=1)
    norms[norms == 0] = 1.0
    return (vectors[rows] @ vectors.T) / np.outer(norms[rows], norms)
