"""Two-stage ranking: a base model proposes candidates, a listwise linear model reorders them.

Why: the base blend ranks by co-occurrence only; a user's genre profile, item popularity and what
was being rated in the days the user was active correct it. The reranker learns how much each
signal is worth from the training matrix alone: it holds out a random share of every user's
training cells, fits the base model on the rest, and fits the weights so that the held-out cells
win a softmax over each user's candidates (L-BFGS, L2 penalty). Then the base model is refitted
on the whole training matrix. Test data never enters ``fit``.

Measured on ML-100K: see bench/results/reco_ml100k.json and models/tuned.py (the chosen base
blend, the validation numbers, and what was tried and dropped). The final base is fitted on a
second thread while the weights are learnt on this one (0.86 s wall, 1.4 s CPU on 2 cores).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.sparse import csr_matrix

from models.base import Recommender, SideInfo
from models.ensemble import standardise

DAY = 86400.0
FEATURES = (
    "base_score",
    "base_log_rank",
    "item_log_popularity",
    "item_mean_value",
    "genre_affinity",
    "time_popularity_short",
    "time_popularity_long",
    "first_rated_after_user_left",
)


def holdout_split(user_items: csr_matrix, fraction: float, seed: int) -> tuple[csr_matrix, csr_matrix]:
    """Per-user random split of the cells: ``round(fraction * n_u)`` of each user's cells held out."""
    x = csr_matrix(user_items, copy=True)
    x.sort_indices()
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    keys = np.random.default_rng(seed).random(x.nnz)
    order = np.lexsort((keys, rows))
    position = np.empty(x.nnz, dtype=np.int64)
    position[order] = np.arange(x.nnz) - x.indptr[rows[order]]
    n_hold = np.rint(fraction * np.diff(x.indptr)).astype(np.int64)
    held = position < n_hold[rows]
    hold = x.copy()
    hold.data = np.where(held, hold.data, 0)
    keep = x.copy()
    keep.data = np.where(held, 0, keep.data)
    hold.eliminate_zeros()
    keep.eliminate_zeros()
    return keep, hold


def _restrict(timestamps: csr_matrix | None, like: csr_matrix) -> csr_matrix | None:
    """Timestamps of the cells present in ``like`` only."""
    if timestamps is None:
        return None
    mask = csr_matrix(like, copy=True)
    mask.data[:] = 1.0
    return csr_matrix(csr_matrix(timestamps).multiply(mask))


def _day_histograms(
    timestamps: csr_matrix, origin: float, n_days: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(users x days) and (items x days) counts of the rated cells."""
    coo = csr_matrix(timestamps).tocoo()
    day = np.clip(((coo.data - origin) // DAY).astype(np.int64), 0, n_days - 1)
    ones = np.ones(day.size)
    users = csr_matrix((ones, (coo.row, day)), shape=(timestamps.shape[0], n_days)).toarray()
    items = csr_matrix((ones, (coo.col, day)), shape=(timestamps.shape[1], n_days)).toarray()
    return users, items


def _softmax_fit(x: NDArray, y: NDArray, starts: NDArray, l2: float) -> NDArray:
    """Weights maximising each group's softmax likelihood of its positives (groups start at ``starts``)."""
    sizes = np.diff(np.r_[starts, x.shape[0]])
    n_pos = np.add.reduceat(y, starts)
    active = n_pos > 0
    n_groups = max(int(active.sum()), 1)
    per_row_pos = np.repeat(np.where(active, n_pos, 0.0), sizes)
    x = np.ascontiguousarray(x, dtype=np.float64)
    positives = x.T @ y  # the gradient's constant part; products by x.T are BLAS calls, not temporaries

    def loss(w: NDArray) -> tuple[float, NDArray]:
        s = x @ w
        top = np.maximum.reduceat(s, starts)
        e = np.exp(s - np.repeat(top, sizes))
        z = np.add.reduceat(e, starts)
        p = e / np.repeat(z, sizes)
        value = -(y @ s) + (n_pos * (np.log(z) + top))[active].sum()
        grad = x.T @ (p * per_row_pos) - positives
        return value / n_groups + 0.5 * l2 * w @ w, grad / n_groups + l2 * w

    result = minimize(loss, np.eye(x.shape[1])[0], jac=True, method="L-BFGS-B")
    return np.asarray(result.x)


class ListwiseRerank(Recommender):
    """Base model's top ``n_candidates`` reordered by a learnt linear score over :data:`FEATURES`."""

    name = "rerank"

    def __init__(
        self,
        *,
        base: dict[str, Any],
        n_candidates: int = 50,
        holdout: float = 0.25,
        l2: float = 1.0,
        short_days: float = 2.0,
        long_days: float = 14.0,
        random_state: int = 42,
    ) -> None:
        super().__init__(random_state=random_state)
        if not 0.0 < holdout < 1.0:
            raise ValueError("holdout must be in (0, 1)")
        self.base = {"type": base["type"], "params": dict(base.get("params", {}))}
        self.n_candidates = n_candidates
        self.holdout = holdout
        self.l2 = l2
        self.short_days = short_days
        self.long_days = long_days

    def get_params(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "n_candidates": self.n_candidates,
            "holdout": self.holdout,
            "l2": self.l2,
            "short_days": self.short_days,
            "long_days": self.long_days,
            "random_state": self.random_state,
        }

    def _new_base(self) -> Recommender:
        from models.zoo import build

        return build(self.base["type"], {**self.base["params"], "random_state": self.random_state})

    # -- fitting --------------------------------------------------------------------------------
    def fit(
        self,
        user_items: csr_matrix,
        *,
        show_progress: bool = False,
        side: SideInfo | None = None,
    ) -> Self:
        side = side or SideInfo()
        user_items = csr_matrix(user_items)
        if side.timestamps is not None and side.timestamps.shape != user_items.shape:
            raise ValueError("timestamps must have the same shape as user_items")
        if side.item_features is not None and len(side.item_features) != user_items.shape[1]:
            raise ValueError("item_features needs one row per item")
        self.n_users, self.n_items = user_items.shape
        self._set_time_origin(side.timestamps)
        # Stage 1: learn the weights on a holdout of the training cells.
        keep, hold = holdout_split(user_items, self.holdout, self.random_state)
        inner_side = SideInfo(
            timestamps=_restrict(side.timestamps, keep),
            item_texts=side.item_texts,
            item_features=side.item_features,
        )
        # The final base (on the whole matrix) does not depend on stage 1: it is fitted on a
        # second thread while this one fits the inner base and learns the weights (numpy, LAPACK
        # and implicit release the GIL most of the time); each fit is the same as when run alone.
        # It only helps when the second core is free.
        with ThreadPoolExecutor(max_workers=1) as pool:
            final_job = pool.submit(self._new_base().fit, user_items, show_progress=show_progress, side=side)
            inner = self._new_base().fit(keep, side=inner_side)
            self._set_signals(keep, inner_side)
            users = np.arange(self.n_users)
            feats, cand_users, cand_items = self._candidates(inner, users, keep)  # position == user id
            labels = np.asarray(hold[cand_users, cand_items]).ravel() != 0
            self.mean = feats.mean(axis=0)
            self.scale = feats.std(axis=0) + 1e-9
            starts = np.flatnonzero(np.r_[True, cand_users[1:] != cand_users[:-1]])
            self.coef = _softmax_fit(
                (feats - self.mean) / self.scale, labels.astype(np.float64), starts, self.l2
            )
            # Stage 2: the base model and the signals on the whole training matrix.
            self.base_model = final_job.result()
        self._set_signals(user_items, side)
        self._fitted = True
        return self

    def _set_time_origin(self, timestamps: csr_matrix | None) -> None:
        data = csr_matrix(timestamps).data if timestamps is not None else np.empty(0)
        self.time_origin = float(data.min()) if data.size else 0.0
        self.n_days = int((data.max() - self.time_origin) // DAY) + 1 if data.size else 1

    def _set_signals(self, user_items: csr_matrix, side: SideInfo) -> None:
        """Per-item and per-user arrays the features read (from the matrix the base model saw)."""
        x = csr_matrix(user_items)
        counts = np.bincount(x.indices, minlength=self.n_items).astype(np.float64)
        sums = np.bincount(x.indices, weights=x.data, minlength=self.n_items)
        self.item_log_pop = np.log(counts / max(counts.sum(), 1.0) * self.n_items + 1e-3)
        self.item_mean = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        if side.item_features is not None:
            feats = np.asarray(side.item_features, dtype=np.float64)
            binary = x.copy()
            binary.data[:] = 1.0
            profile = np.asarray(binary @ feats)
            self.user_profile = profile / np.maximum(profile.sum(axis=1, keepdims=True), 1.0)
            self.item_attrs = feats / np.maximum(feats.sum(axis=1, keepdims=True), 1.0)
        else:
            self.user_profile = np.zeros((self.n_users, 1))
            self.item_attrs = np.zeros((self.n_items, 1))
        if side.timestamps is not None:
            users, items = _day_histograms(side.timestamps, self.time_origin, self.n_days)
            self.user_days = csr_matrix(users / np.maximum(users.sum(axis=1, keepdims=True), 1.0))
            # An item nobody rated before the user's last day was likely not out yet for them.
            active = users > 0
            self.user_last_day = np.where(
                active.any(axis=1), self.n_days - 1 - np.argmax(active[:, ::-1], axis=1), self.n_days
            )
            rated = items > 0
            self.item_first_day = np.where(rated.any(axis=1), np.argmax(rated, axis=1), self.n_days)
            days = np.arange(self.n_days)
            smoothed = []
            for width in (self.short_days, self.long_days):
                kernel = np.exp(-0.5 * ((days[:, None] - days[None, :]) / width) ** 2)
                # share of each day's (smoothed) activity that went to the item
                activity = np.maximum(kernel @ items.sum(axis=0), 1e-9)
                smoothed.append((items @ kernel) / activity[None, :] * self.n_items)
            self.item_days = np.stack(smoothed)
        else:
            self.user_days = csr_matrix((self.n_users, 1))
            self.user_last_day = np.zeros(self.n_users, dtype=np.int64)
            self.item_first_day = np.zeros(self.n_items, dtype=np.int64)
            self.item_days = np.zeros((2, self.n_items, 1))

    # -- scoring --------------------------------------------------------------------------------
    def _candidates(
        self, base: Recommender, userids: NDArray[np.int64], history: csr_matrix
    ) -> tuple[NDArray, NDArray[np.int64], NDArray[np.int64]]:
        """Features of each user's top ``n_candidates`` unseen items, grouped by user.

        Returns the feature rows, each row's position in ``userids`` and its item.
        """
        rows, cols = csr_matrix(history).nonzero()
        scores = standardise(base._score_users(userids, history), rows, cols)
        scores[rows, cols] = -np.inf
        n = min(self.n_candidates, self.n_items)
        part = (
            np.argpartition(-scores, n - 1, axis=1)[:, :n]
            if n < self.n_items
            else np.tile(np.arange(self.n_items), (scores.shape[0], 1))
        )
        part_scores = np.take_along_axis(scores, part, axis=1)
        top = np.take_along_axis(part, np.lexsort((part, -part_scores), axis=1), axis=1)
        seen = np.diff(csr_matrix(history).indptr)
        valid = np.arange(n)[None, :] < (self.n_items - seen)[:, None]
        local, rank = np.nonzero(valid)
        items = top[local, rank]
        users = np.asarray(userids)[local]
        # user_days is sparse (people rate on few days): one sparse x dense product per batch.
        days = self.user_days[np.asarray(userids)]
        short = np.asarray(days @ self.item_days[0].T)[local, items]
        long = np.asarray(days @ self.item_days[1].T)[local, items]
        feats = np.column_stack(
            [
                scores[local, items],
                np.log1p(rank),
                self.item_log_pop[items],
                self.item_mean[items],
                (self.user_profile[users] * self.item_attrs[items]).sum(axis=1),
                short,
                long,
                self.item_first_day[items] > self.user_last_day[users],
            ]
        )
        return feats, local, items

    def _score_users(self, userids: NDArray[np.int64], user_items: csr_matrix) -> NDArray:
        history = csr_matrix(user_items)
        feats, local, items = self._candidates(self.base_model, userids, history)
        # Non-candidates keep the base order far below every candidate (finite, so lists can
        # extend past n_candidates).
        rows, cols = history.nonzero()
        out = standardise(self.base_model._score_users(userids, history), rows, cols) - 1e6
        out[local, items] = ((feats - self.mean) / self.scale) @ self.coef
        return out

    def _item_similarity_rows(self, itemids: NDArray[np.int64]) -> NDArray:
        return self.base_model._item_similarity_rows(itemids)

    # -- persistence ----------------------------------------------------------------------------
    _ARRAYS = (
        "coef",
        "mean",
        "scale",
        "item_log_pop",
        "item_mean",
        "user_profile",
        "item_attrs",
        "item_days",
        "user_last_day",
        "item_first_day",
    )

    def state(self) -> dict[str, NDArray]:
        arrays = {name: np.asarray(getattr(self, name)) for name in self._ARRAYS}
        arrays["time_origin"] = np.asarray(self.time_origin)
        days = csr_matrix(self.user_days)
        arrays.update(
            days_data=days.data,
            days_indices=days.indices,
            days_indptr=days.indptr,
            days_shape=np.asarray(days.shape),
        )
        for key, value in self.base_model.full_state().items():
            arrays[f"base.{key}"] = value
        return arrays

    def _load_state(self, arrays: dict[str, NDArray]) -> None:
        for name in self._ARRAYS:
            setattr(self, name, np.asarray(arrays[name]))
        self.time_origin = float(arrays["time_origin"])
        self.user_days = csr_matrix(
            (arrays["days_data"], arrays["days_indices"], arrays["days_indptr"]),
            shape=tuple(int(v) for v in arrays["days_shape"]),
        )
        self.n_days = int(self.user_days.shape[1])
        base = {k[len("base.") :]: v for k, v in arrays.items() if k.startswith("base.")}
        self.base_model = type(self._new_base()).from_state(self._new_base().get_params(), base)
