"""Item-item models that win on small catalogues: EASE, DLAE (closed forms) and RP3beta (graph walk).

EASE (Steck 2019): B = argmin ||X - XB||^2 + lambda ||B||^2 with diag(B) = 0, solved in closed
form from the item Gram matrix; one dense inverse of n_items^2, well under a second for a few
thousand items. DLAE (Steck 2020, "Autoencoders that don't overfit towards the identity"): the
same linear autoencoder trained with input dropout, whose expectation is an L2 penalty scaled by
each item's own Gram diagonal instead of the hard diag(B) = 0; optionally the Gram matrix also
counts co-occurrence inside time sessions (on ML-100K, bursts of ratings <= 30 s apart: validation
nDCG@10 0.2743 -> 0.2782 over 60 s sessions; tried and not better on validation: row-normalised
Grams, clipping negative weights, a binary + rating-weighted Gram mix, sliding-window rows, the
zero-diagonal (EASE-form) solution with the same penalty). RP3beta (Paudel et al. 2017): 3-step
random-walk item similarity with popularity penalised by degree^beta; sparse, top-k pruned.
"""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import lapack
from scipy.sparse import csr_matrix, diags

from models.base import Recommender, SideInfo


def _prepare(user_items: csr_matrix, binarize: bool, power: float = 1.0) -> csr_matrix:
    """Binary (presence) or value**power input; power < 1 flattens strong weights (5 stars)."""
    x = csr_matrix(user_items, dtype=np.float64, copy=True)
    if binarize:
        x.data[:] = 1.0
    elif power != 1.0:
        x.data = np.power(np.maximum(x.data, 0.0), power)
    return x


def safe_reciprocal(values: NDArray) -> NDArray:
    """1 / values, and 0 where a value is 0 (an empty row or column)."""
    return np.divide(1.0, values, out=np.zeros_like(values), where=values > 0)


def keep_top_k(rows: NDArray, k: int) -> None:
    """Zero all but the ``k`` largest entries of each row, in place."""
    if k < rows.shape[1]:
        cut = np.argpartition(-rows, k - 1, axis=1)[:, k:]
        np.put_along_axis(rows, cut, 0.0, axis=1)


class DenseItemItem(Recommender):
    """A dense (n_items, n_items) ``weights`` matrix: scores are the prepared history times it.
    Subclasses set ``binarize``, ``power`` and, in ``fit``, ``weights``."""

    binarize: bool
    power: float
    weights: NDArray

    def _score_users(self, userids: NDArray[np.int64], user_items: csr_matrix) -> NDArray:
        # History in the weights' dtype: a float64 history would make scipy copy the float32
        # weights to float64 on every call (3x slower product, inside every fit of the reranker).
        x = _prepare(user_items, self.binarize, self.power).astype(self.weights.dtype, copy=False)
        return np.asarray(x @ self.weights)

    def _item_similarity_rows(self, itemids: NDArray[np.int64]) -> NDArray:
        return self.weights[itemids]

    def state(self) -> dict[str, NDArray]:
        return {"weights": self.weights}

    def _load_state(self, arrays: dict[str, NDArray]) -> None:
        self.weights = np.asarray(arrays["weights"])


class EASE(DenseItemItem):
    """Embarrassingly Shallow Autoencoder: closed-form item-item weights."""

    name = "ease"

    def __init__(
        self,
        *,
        l2: float = 500.0,
        binarize: bool = True,
        power: float = 1.0,
        random_state: int = 42,
    ) -> None:
        super().__init__(random_state=random_state)
        self.l2 = l2
        self.binarize = binarize
        self.power = power

    def fit(
        self,
        user_items: csr_matrix,
        *,
        show_progress: bool = False,
        side: SideInfo | None = None,
    ) -> Self:
        x = _prepare(user_items, self.binarize, self.power)
        gram = (x.T @ x).toarray()
        gram[np.diag_indices_from(gram)] += self.l2
        p = np.linalg.inv(gram)
        b = p / (-np.diag(p))
        b[np.diag_indices_from(b)] = 0.0
        self.weights = b.astype(np.float32)
        self._mark_fitted(user_items)
        return self


def session_rows(values: csr_matrix, timestamps: csr_matrix, gap_seconds: float) -> csr_matrix:
    """One row per session: a user's cells whose consecutive times are <= ``gap_seconds`` apart.

    ``values`` gives the cell values (same shape as ``timestamps``); cells without a timestamp are
    left out. Why: items rated in the same sitting co-occur more tightly than across a user's whole
    history (sign-up pages, new-release lists), which the user-level Gram matrix blurs.
    """
    ts = csr_matrix(timestamps).tocoo()
    order = np.lexsort((ts.col, ts.data, ts.row))
    rows, cols, times = ts.row[order], ts.col[order], ts.data[order]
    if rows.size == 0:
        return csr_matrix((0, values.shape[1]), dtype=np.float64)
    new = np.empty(rows.size, dtype=bool)
    new[0] = True
    new[1:] = (rows[1:] != rows[:-1]) | (times[1:] - times[:-1] > gap_seconds)
    session = np.cumsum(new) - 1
    vals = np.asarray(csr_matrix(values)[rows, cols], dtype=np.float64).ravel()
    return csr_matrix((vals, (session, cols)), shape=(int(session[-1]) + 1, values.shape[1]))


def _dlae_weights(gram: NDArray, penalty: NDArray) -> NDArray[np.float32]:
    """B = (G + diag(p))^-1 G = I - (G + diag(p))^-1 diag(p), via a float32 Cholesky inverse.

    Why this form: inverting the SPD matrix from its Cholesky factor (potrf + potri) costs about
    half of solving for n right-hand sides, and float32 halves it again (errors ~1e-6 of weights
    ~0.1, far below what changes a ranking).
    """
    a = (gram + np.diag(penalty)).astype(np.float32)
    factor, info = lapack.spotrf(a, lower=False, clean=False)
    if info != 0:
        raise np.linalg.LinAlgError(f"dlae: Gram matrix not positive definite (potrf info {info})")
    inverse, info = lapack.spotri(factor, lower=False)
    if info != 0:
        raise np.linalg.LinAlgError(f"dlae: Cholesky inverse failed (potri info {info})")
    p = np.triu(inverse) + np.triu(inverse, 1).T  # potri fills the upper triangle only
    weights = -p * penalty.astype(np.float32)[None, :]
    weights[np.diag_indices_from(weights)] += 1.0
    return weights


class DLAE(DenseItemItem):
    """Denoising linear autoencoder: B = (G + diag(d/(1-d) * diag(G) + l2))^-1 G, G = X'X (+ sessions).

    ``dropout`` is the input-dropout rate d whose expected loss gives that penalty. With
    ``session_weight`` > 0 and ``session_gap_seconds`` set, G += session_weight * S'S where S holds
    one row per time session (needs ``SideInfo.timestamps``).
    """

    name = "dlae"

    def __init__(
        self,
        *,
        dropout: float = 0.8,
        l2: float = 200.0,
        binarize: bool = False,
        power: float = 0.25,
        session_gap_seconds: float = 600.0,
        session_weight: float = 0.0,
        random_state: int = 42,
    ) -> None:
        super().__init__(random_state=random_state)
        if not 0.0 <= dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        self.dropout = dropout
        self.l2 = l2
        self.binarize = binarize
        self.power = power
        self.session_gap_seconds = session_gap_seconds
        self.session_weight = session_weight

    def fit(
        self,
        user_items: csr_matrix,
        *,
        show_progress: bool = False,
        side: SideInfo | None = None,
    ) -> Self:
        x = _prepare(user_items, self.binarize, self.power)
        gram = (x.T @ x).toarray()
        if self.session_weight > 0.0:
            if side is None or side.timestamps is None:
                raise ValueError("dlae with session_weight > 0 needs SideInfo(timestamps=...)")
            if side.timestamps.shape != user_items.shape:
                raise ValueError("timestamps must have the same shape as user_items")
            s = session_rows(x, side.timestamps, self.session_gap_seconds)
            gram += self.session_weight * (s.T @ s).toarray()
        penalty = self.dropout / (1.0 - self.dropout) * np.diag(gram) + self.l2
        self.weights = _dlae_weights(gram, penalty)
        self._mark_fitted(user_items)
        return self


class RP3Beta(Recommender):
    """P^3 random-walk similarity, raised to ``alpha`` and divided by item degree^``beta``."""

    name = "rp3beta"

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        beta: float = 0.5,
        top_k: int = 200,
        binarize: bool = True,
        random_state: int = 42,
    ) -> None:
        super().__init__(random_state=random_state)
        self.alpha = alpha
        self.beta = beta
        self.top_k = top_k
        self.binarize = binarize

    def fit(
        self,
        user_items: csr_matrix,
        *,
        show_progress: bool = False,
        side: SideInfo | None = None,
    ) -> Self:
        x = _prepare(user_items, self.binarize)
        user_deg = np.asarray(x.sum(axis=1)).ravel()
        item_deg = np.asarray(x.sum(axis=0)).ravel()
        p_ui = diags(safe_reciprocal(user_deg)) @ x  # user -> item transition
        p_iu = diags(safe_reciprocal(item_deg)) @ x.T.tocsr()  # item -> user transition
        if self.alpha != 1.0:
            p_ui = p_ui.power(self.alpha)
            p_iu = p_iu.power(self.alpha)
        w = (p_iu @ p_ui).toarray()
        pen = np.power(item_deg, self.beta, out=np.ones_like(item_deg), where=item_deg > 0)
        w /= pen[None, :]
        np.fill_diagonal(w, 0.0)
        keep_top_k(w, self.top_k)
        self.weights = csr_matrix(w.astype(np.float32))
        self._mark_fitted(user_items)
        return self

    def _score_users(self, userids: NDArray[np.int64], user_items: csr_matrix) -> NDArray:
        return (_prepare(user_items, self.binarize).astype(np.float32) @ self.weights).toarray()

    def _item_similarity_rows(self, itemids: NDArray[np.int64]) -> NDArray:
        return self.weights[itemids].toarray()

    def state(self) -> dict[str, NDArray]:
        w = self.weights
        return {"w_data": w.data, "w_indices": w.indices, "w_indptr": w.indptr}

    def _load_state(self, arrays: dict[str, NDArray]) -> None:
        self.weights = csr_matrix(
            (arrays["w_data"], arrays["w_indices"], arrays["w_indptr"]),
            shape=(self.n_items, self.n_items),
        )
