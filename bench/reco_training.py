"""ALS training time through our wrapper/pipeline vs implicit called directly, same matrix, same run.

Target: wrapper / direct <= 1.2. Two matrices: the ML-100K train split and a synthetic
50k x 10k one with 1M cells (so fixed overheads cannot hide behind a tiny fit).
Writes bench/results/reco_training.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.sparse import csr_matrix  # noqa: E402

OUT = Path(__file__).parent / "results" / "reco_training.json"
PARAMS = {"factors": 64, "regularization": 0.05, "alpha": 1.0, "iterations": 15}
REPEATS = 5


def _synthetic(n_users: int = 50_000, n_items: int = 10_000, nnz: int = 1_000_000) -> csr_matrix:
    rng = np.random.default_rng(0)
    items = np.minimum(rng.zipf(1.3, nnz) - 1, n_items - 1)
    users = rng.integers(0, n_users, nnz)
    m = csr_matrix((np.ones(nnz, dtype=np.float32), (users, items)), shape=(n_users, n_items))
    m.sum_duplicates()
    return m


def _direct(matrix: csr_matrix) -> float:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(**PARAMS, random_state=42)
        start = time.perf_counter()
        model.fit(matrix, show_progress=False)
        return time.perf_counter() - start


def _wrapper(matrix: csr_matrix) -> float:
    from models.factorization import ALS

    model = ALS(**PARAMS, random_state=42)
    start = time.perf_counter()
    model.fit(matrix)
    return time.perf_counter() - start


def _measure(name: str, matrix: csr_matrix) -> dict[str, object]:
    _direct(matrix)
    _wrapper(matrix)  # warm-up: imports, thread pools
    direct, wrapper = [], []
    for _ in range(REPEATS):  # interleaved so machine noise hits both alike
        direct.append(_direct(matrix))
        wrapper.append(_wrapper(matrix))
    d, w = statistics.median(direct), statistics.median(wrapper)
    row = {
        "matrix": name,
        "shape": list(matrix.shape),
        "nnz": int(matrix.nnz),
        "implicit_direct_s": d,
        "wrapper_s": w,
        "ratio": w / d,
        "target_ratio": 1.2,
        "meets_target": w / d <= 1.2,
    }
    print(f"{name:<10} direct {d:.3f}s  wrapper {w:.3f}s  ratio {w / d:.3f} (target <= 1.2)")
    return row


def main() -> None:
    import polars as pl

    from models.data import build_matrix, stratified_split
    from models.movielens import load_ratings

    train, _ = stratified_split(load_ratings(), method="legacy")
    ml = build_matrix(train.with_columns(weight=pl.col("rating"))).matrix
    rows = [_measure("ml-100k", ml), _measure("synthetic", _synthetic())]
    result = {"params": PARAMS, "repeats": REPEATS, "cpus": os.cpu_count(), "results": rows}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
