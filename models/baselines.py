"""Baselines every model must beat: popularity and item-kNN (scikit-learn cosine neighbours)."""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from sklearn.neighbors import NearestNeighbors

from models.base import Recommender, SideInfo


class Popularity(Recommender):
    """Most-interacted items first (count of users); also the cold-start fallback."""

    name = "popularity"

    def fit(
        self,
        user_items: csr_matrix,
        *,
        show_progress: bool = False,
        side: SideInfo | None = None,
    ) -> Self:
        user_items = csr_matrix(user_items)
        self.item_counts = np.bincount(user_items.indices, minlength=user_items.shape[1]).astype(np.float32)
        self._mark_fitted(user_items)
        return self

    def _score_users(self, userids: NDArray[np.int64], user_items: csr_matrix) -> NDArray:
        return np.broadcast_to(self.item_counts, (userids.size, self.n_items)).copy()

    def _item_similarity_rows(self, itemids: NDArray[np.int64]) -> NDArray:
        return np.broadcast_to(self.item_counts, (itemids.size, self.n_items)).copy()

    def state(self) -> dict[str, NDArray]:
        return {"item_counts": self.item_counts}

    def _load_state(self, arrays: dict[str, NDArray]) -> None:
        self.item_counts = np.asarray(arrays["item_counts"])


class ItemKNN(Recommender):
    """Item-based CF: each item keeps its ``k`` nearest items by cosine over user vectors.

    score(u, j) = sum over items i the user has of sim(i, j) * weight(u, i).
    """

    name = "itemknn"

    def __init__(self, *, k: int = 100, binarize: bool = True, random_state: int = 42) -> None:
        super().__init__(random_state=random_state)
        self.k = k
        self.binarize = binarize

    def fit(
        self,
        user_items: csr_matrix,
        *,
        show_progress: bool = False,
        side: SideInfo | None = None,
    ) -> Self:
        # copy=True: csr_matrix() of a float32 matrix is a view, and binarising it in place
        # would silently change the caller's training matrix for every model fitted after this.
        user_items = csr_matrix(user_items, dtype=np.float32, copy=True)
        if self.binarize:
            user_items.data[:] = 1.0
        n_items = user_items.shape[1]
        k = min(self.k + 1, n_items)
        knn = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute")
        item_users = user_items.T.tocsr()
        knn.fit(item_users)
        dist, idx = knn.kneighbors(item_users)
        sims = (1.0 - dist).astype(np.float32)
        rows = np.repeat(np.arange(n_items), k)
        sim = csr_matrix((sims.ravel(), (rows, idx.ravel())), shape=(n_items, n_items))
        sim.setdiag(0.0)
        sim.eliminate_zeros()
        self.similarity = sim
        self._mark_fitted(user_items)
        return self

    def _score_users(self, userids: NDArray[np.int64], user_items: csr_matrix) -> NDArray:
        x = csr_matrix(user_items, dtype=np.float32, copy=True)
        if self.binarize:
            x.data[:] = 1.0
        return (x @ self.similarity).toarray()

    def _item_similarity_rows(self, itemids: NDArray[np.int64]) -> NDArray:
        return self.similarity[itemids].toarray()

    def state(self) -> dict[str, NDArray]:
        s = self.similarity
        return {"sim_data": s.data, "sim_indices": s.indices, "sim_indptr": s.indptr}

    def _load_state(self, arrays: dict[str, NDArray]) -> None:
        self.similarity = csr_matrix(
            (arrays["sim_data"], arrays["sim_indices"], arrays["sim_indptr"]),
            shape=(self.n_items, self.n_items),
        )
