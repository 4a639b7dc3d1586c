"""implicit's ALS and BPR behind our interface.

Why wrap rather than use implicit's own ``recommend``: one ranking/filtering path for every model
(:mod:`models.base`), and factors saved as plain arrays. Training calls implicit unchanged on the
same CSR matrix; OpenBLAS is limited to one thread during fit, as implicit recommends (its own
threads do the parallel work).
"""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from threadpoolctl import threadpool_limits

from models.base import Recommender, SideInfo, cosine_rows


def _as_float32_csr(user_items: csr_matrix, binarize: bool = False) -> csr_matrix:
    user_items = csr_matrix(user_items)
    if user_items.dtype != np.float32:
        user_items = user_items.astype(np.float32)
    if binarize:
        user_items = user_items.copy()
        user_items.data[:] = 1.0
    return user_items


class _FactorModel(Recommender):
    """Shared scoring for models that end with user and item factor matrices."""

    user_factors: NDArray
    item_factors: NDArray

    def _score_users(self, userids: NDArray[np.int64], user_items: csr_matrix) -> NDArray:
        return self.user_factors[userids] @ self.item_factors.T

    def _item_similarity_rows(self, itemids: NDArray[np.int64]) -> NDArray:
        return cosine_rows(self.item_factors, itemids)

    def state(self) -> dict[str, NDArray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _load_state(self, arrays: dict[str, NDArray]) -> None:
        self.user_factors = np.asarray(arrays["user_factors"])
        self.item_factors = np.asarray(arrays["item_factors"])


class ALS(_FactorModel):
    """Weighted matrix factorisation (Hu, Koren, Volinsky 2008) by implicit's CPU ALS."""

    name = "als"

    def __init__(
        self,
        *,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 1.0,
        iterations: int = 15,
        binarize: bool = False,
        num_threads: int = 0,
        random_state: int = 42,
    ) -> None:
        super().__init__(random_state=random_state)
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.binarize = binarize
        self.num_threads = num_threads

    def fit(
        self,
        user_items: csr_matrix,
        *,
        show_progress: bool = False,
        side: SideInfo | None = None,
    ) -> Self:
        from implicit.cpu.als import AlternatingLeastSquares

        user_items = _as_float32_csr(user_items, self.binarize)
        # implicit checks the BLAS pool when the model is built, so limit around both steps.
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                num_threads=self.num_threads,
                random_state=self.random_state,
            )
            model.fit(user_items, show_progress=show_progress)
        self.user_factors, self.item_factors = model.user_factors, model.item_factors
        self._mark_fitted(user_items)
        return self


class BPR(_FactorModel):
    """Bayesian Personalised Ranking (Rendle et al. 2009) by implicit's CPU BPR.

    One thread by default: implicit's multi-threaded SGD is Hogwild, so thread scheduling would
    change the result and break "same seed, same model".
    """

    name = "bpr"

    def __init__(
        self,
        *,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 100,
        binarize: bool = False,
        num_threads: int = 1,
        random_state: int = 42,
    ) -> None:
        super().__init__(random_state=random_state)
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.binarize = binarize
        self.num_threads = num_threads

    def fit(
        self,
        user_items: csr_matrix,
        *,
        show_progress: bool = False,
        side: SideInfo | None = None,
    ) -> Self:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        user_items = _as_float32_csr(user_items, self.binarize)
        with threadpool_limits(1, "blas"):
            model = BayesianPersonalizedRanking(
                factors=self.factors,
                learning_rate=self.learning_rate,
                regularization=self.regularization,
                iterations=self.iterations,
                num_threads=self.num_threads,
                random_state=self.random_state,
            )
            model.fit(user_items, show_progress=show_progress)
        self.user_factors, self.item_factors = model.user_factors, model.item_factors
        self._mark_fitted(user_items)
        return self
