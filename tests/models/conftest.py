"""Small deterministic interaction data for the model tests (no MovieLens needed)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from models.base import SideInfo


@pytest.fixture(scope="session")
def clustered() -> tuple[csr_matrix, csr_matrix, SideInfo]:
    """60 users x 40 items in 4 taste clusters; train/test split by a fixed mask.

    A user of cluster c mostly interacts with items of cluster c, so any working CF model
    must beat popularity on the held-out cells.
    """
    rng = np.random.default_rng(0)
    n_users, n_items, n_clusters = 60, 40, 4
    rows, cols = [], []
    for u in range(n_users):
        c = u % n_clusters
        own = np.arange(c * 10, c * 10 + 10)
        picks = rng.choice(own, size=7, replace=False)
        other = rng.choice(np.setdiff1d(np.arange(n_items), own), size=1, replace=False)
        for i in np.concatenate([picks, other]):
            rows.append(u)
            cols.append(int(i))
    rows_a, cols_a = np.array(rows), np.array(cols)
    is_test = rng.random(rows_a.size) < 0.25
    vals = rng.integers(1, 6, rows_a.size).astype(np.float32)
    shape = (n_users, n_items)
    train = csr_matrix((vals[~is_test], (rows_a[~is_test], cols_a[~is_test])), shape=shape)
    test = csr_matrix((vals[is_test], (rows_a[is_test], cols_a[is_test])), shape=shape)
    times = np.arange(rows_a.size, dtype=np.float64) * 30 + 1_000_000
    ts = csr_matrix((times[~is_test], (rows_a[~is_test], cols_a[~is_test])), shape=shape)
    texts = [f"cluster{i // 10} item{i} genre{i // 10}" for i in range(n_items)]
    return train, test, SideInfo(timestamps=ts, item_texts=texts)
