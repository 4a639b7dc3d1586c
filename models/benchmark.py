"""MovieLens 100K reproduction of the Microsoft Recommenders benchmark table.

Protocol (as MS Recommenders' movielens benchmark): per-user stratified random split 75/25 with
seed 42 (``python_stratified_split``; ``legacy`` = the reco_utils version the published table was
made with, ``current`` = recommenders >= 1.0), every test rating relevant, top-10 with training
items removed, MAP / nDCG@10 / Precision@10 / Recall@10 by :mod:`models.metrics`.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from models.base import SideInfo
from models.data import InteractionMatrix, build_matrix, stratified_split, timestamp_matrix
from models.movielens import GENRES, load_genre_flags, load_items, load_ratings
from models.tuned import ML100K_MODELS, PRIMARY
from models.zoo import build

K = 10
SEED = 42

# Published rows: README of microsoft/recommenders ("Algorithm Comparison", MovieLens 100k,
# 15 epochs). Their MAP column is MS ``map`` (normalised by all relevant items).
PUBLISHED: list[dict[str, Any]] = [
    {
        "model": "BiVAE",
        "map": 0.146126,
        "ndcg_at_k": 0.475077,
        "precision_at_k": 0.411771,
        "recall_at_k": 0.219145,
    },  # noqa: E501
    {
        "model": "BPR",
        "map": 0.132478,
        "ndcg_at_k": 0.441997,
        "precision_at_k": 0.388229,
        "recall_at_k": 0.212522,
    },  # noqa: E501
    {
        "model": "LightGCN",
        "map": 0.088526,
        "ndcg_at_k": 0.419846,
        "precision_at_k": 0.379626,
        "recall_at_k": 0.144336,
    },  # noqa: E501
    {
        "model": "NCF",
        "map": 0.107720,
        "ndcg_at_k": 0.396118,
        "precision_at_k": 0.347296,
        "recall_at_k": 0.180775,
    },  # noqa: E501
    {
        "model": "SAR",
        "map": 0.110591,
        "ndcg_at_k": 0.382461,
        "precision_at_k": 0.330753,
        "recall_at_k": 0.176385,
    },  # noqa: E501
]
TARGET_NDCG = 0.50
TARGET_FIT_SECONDS = 2.0

RATING_WEIGHT = pl.col("rating")


@dataclass
class ML100K:
    """Train/test matrices in one id space plus side info for sequence and content models."""

    train: InteractionMatrix
    test: InteractionMatrix
    side: SideInfo
    train_df: pl.DataFrame


def item_texts_for(item_ids: np.ndarray, path: Path | None = None) -> list[str]:
    """Title + genres per matrix column (the content model's documents)."""
    items = load_items(path)
    texts = dict(
        zip(items["item_id"].to_list(), (items["title"] + " " + items["category"]).to_list(), strict=True)
    )
    return [texts.get(int(i), "") for i in item_ids]


def genre_features_for(item_ids: np.ndarray, path: Path | None = None) -> np.ndarray:
    """(n_items, 19) genre flags per matrix column."""
    flags = load_genre_flags(path)
    return np.array([flags.get(int(i), [0] * len(GENRES)) for i in item_ids], dtype=np.float32)


def prepare(split: str = "legacy", seed: int = SEED, path: Path | None = None) -> ML100K:
    """Load, split and build the matrices (ratings as cell values)."""
    ratings = load_ratings(path).with_columns(RATING_WEIGHT.alias("weight"))
    train_df, test_df = stratified_split(ratings, ratio=0.75, seed=seed, method=split)
    train = build_matrix(train_df)
    test = build_matrix(test_df, user_ids=train.user_ids, item_ids=train.item_ids)
    side = SideInfo(
        timestamps=timestamp_matrix(train_df, train),
        item_texts=item_texts_for(train.item_ids, path),
        item_features=genre_features_for(train.item_ids, path),
    )
    return ML100K(train=train, test=test, side=side, train_df=train_df)


def run(
    *,
    split: str = "legacy",
    models: list[str] | None = None,
    repeats: int = 3,
    progress: Callable[[str], None] = print,
    path: Path | None = None,
) -> dict[str, Any]:
    """Fit and evaluate every model; fit time is the median of ``repeats`` fits."""
    load_at_start = _load()
    data = prepare(split=split, path=path)
    progress(
        f"ML-100K {split} split: {data.train.matrix.nnz} train / {data.test.matrix.nnz} test "
        f"ratings, {data.train.shape[0]} users x {data.train.shape[1]} items"
    )
    rows: list[dict[str, Any]] = []
    for label, spec in ML100K_MODELS.items():
        if models and label not in models:
            continue
        fit_times, cpu_times = [], []
        evaluation = None
        for _ in range(max(1, repeats)):
            model = build(spec["type"], spec["params"])
            start, cpu_start = time.perf_counter(), time.process_time()
            model.fit(data.train.matrix, side=data.side)
            fit_times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
        evaluation = fit_and_evaluate_fitted(model, data)
        row = {
            "model": label,
            "type": spec["type"],
            "params": spec["params"],
            **evaluation,
            "fit_seconds": float(np.median(fit_times)),
            # CPU seconds of this process: on a shared machine, wall time also counts the waits for
            # a core; the target is judged on wall time (fit_seconds) all the same.
            "fit_cpu_seconds": float(np.median(cpu_times)),
        }
        rows.append(row)
        progress(
            f"  {label:<18} nDCG@10 {row['ndcg_at_k']:.4f}  MAP {row['map']:.4f}  "
            f"P@10 {row['precision_at_k']:.4f}  R@10 {row['recall_at_k']:.4f}  "
            f"fit {row['fit_seconds']:.2f}s (cpu {row['fit_cpu_seconds']:.2f}s)"
        )
    primary = [r for r in rows if r["model"] == PRIMARY]
    best = primary[0] if primary else max(rows, key=lambda r: r["ndcg_at_k"])
    return {
        "protocol": {
            "dataset": "MovieLens 100K",
            "split": f"per-user stratified random 75/25, seed {SEED}, {split} MS recipe",
            "relevance": "every test rating",
            "k": K,
            "filter_seen": True,
            "metrics": "MS Recommenders python_evaluation (map = MS map; map_at_k = MS map_at_k)",
        },
        "machine": {"cpus": _cpus(), "python": platform.python_version(), "load_average": load_at_start},
        "ours": rows,
        "published": PUBLISHED,
        "best": {
            "model": best["model"],
            "chosen_by": "validation (models.tuned.PRIMARY)"
            if primary
            else "highest test nDCG@10 among the models run",
            "ndcg_at_k": best["ndcg_at_k"],
            "fit_seconds": best["fit_seconds"],
            "ndcg_ratio_vs_best_published": best["ndcg_at_k"] / max(p["ndcg_at_k"] for p in PUBLISHED),
            "target_ndcg": TARGET_NDCG,
            "target_fit_seconds": TARGET_FIT_SECONDS,
            "meets_target": best["ndcg_at_k"] >= TARGET_NDCG and best["fit_seconds"] < TARGET_FIT_SECONDS,
        },
    }


def fit_and_evaluate_fitted(model: Any, data: ML100K) -> dict[str, float]:
    from models.evaluate import evaluate

    return evaluate(model, data.train.matrix, data.test.matrix, k=K)


def _load() -> list[float] | None:
    """1/5/15-minute load averages when the run started (other work shares the cores)."""
    import os

    return [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def table(result: dict[str, Any]) -> str:
    """Plain-text table of ours beside the published rows."""
    lines = [f"{'model':<22}{'MAP':>9}{'nDCG@10':>9}{'P@10':>9}{'R@10':>9}{'fit s':>8}"]
    for row in result["ours"]:
        lines.append(
            f"{row['model']:<22}{row['map']:>9.4f}{row['ndcg_at_k']:>9.4f}"
            f"{row['precision_at_k']:>9.4f}{row['recall_at_k']:>9.4f}{row['fit_seconds']:>8.2f}"
        )
    for row in result["published"]:
        lines.append(
            f"{row['model'] + ' (published)':<22}{row['map']:>9.4f}{row['ndcg_at_k']:>9.4f}"
            f"{row['precision_at_k']:>9.4f}{row['recall_at_k']:>9.4f}{'':>8}"
        )
    best = result["best"]
    lines.append(
        f"best: {best['model']} nDCG@10 {best['ndcg_at_k']:.4f} "
        f"({best['ndcg_ratio_vs_best_published']:.3f}x best published), fit {best['fit_seconds']:.2f}s; "
        f"target nDCG>={best['target_ndcg']} in <{best['target_fit_seconds']}s: "
        f"{'met' if best['meets_target'] else 'NOT met'}"
    )
    return "\n".join(lines)


def bar_chart(result: dict[str, Any], path: Path) -> None:
    """PNG bar chart of nDCG@10 per model, ours and published."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ours = [(r["model"], r["ndcg_at_k"], "tab:blue") for r in result["ours"]]
    pub = [(r["model"] + "*", r["ndcg_at_k"], "tab:gray") for r in result["published"]]
    rows = sorted(ours + pub, key=lambda r: r[1])
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.2))
    ax.barh([r[0] for r in rows], [r[1] for r in rows], color=[r[2] for r in rows])
    ax.axvline(TARGET_NDCG, color="tab:red", linestyle="--", label=f"target {TARGET_NDCG}")
    for i, r in enumerate(rows):
        ax.text(r[1] + 0.003, i, f"{r[1]:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, max(TARGET_NDCG, max(r[1] for r in rows)) + 0.06)
    ax.set_xlabel("nDCG@10 (MovieLens 100K, * = published MS Recommenders row)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(result: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    bar_chart(result, out.with_suffix(".png"))


def write_tuning(log: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(log, indent=2) + "\n")


def tune(
    *,
    budget: int | None = None,
    seed: int | None = None,
    models: list[str] | None = None,
    progress: Callable[[str], None] = print,
    path: Path | None = None,
) -> dict[str, Any]:
    """Seeded random search per model on a validation split carved from TRAIN (never test)."""
    from models.tuned import (
        ML100K_SEARCH,
        MODEL_BUDGETS,
        MODEL_VALIDATION_SEEDS,
        SEARCH_BUDGET,
        SEARCH_SEED,
        VALIDATION_SEEDS,
    )
    from models.tuning import carve_validation, random_search

    seed = SEARCH_SEED if seed is None else seed
    started = time.perf_counter()
    data = prepare(path=path)
    folds: dict[int, Any] = {}

    def valid(label: str) -> list[Any]:
        """The validation splits of ``label``'s search, each carved once."""
        seeds = MODEL_VALIDATION_SEEDS.get(label, VALIDATION_SEEDS)
        for fold_seed in seeds:
            if fold_seed not in folds:
                folds[fold_seed] = carve_validation(
                    data.train_df.drop("weight"),
                    ratio=0.75,
                    seed=fold_seed,
                    weight=RATING_WEIGHT,
                    item_texts=lambda m: item_texts_for(m.item_ids, path),
                    item_features=lambda m: genre_features_for(m.item_ids, path),
                )
        return [folds[fold_seed] for fold_seed in seeds]

    out: dict[str, Any] = {
        "seed": seed,
        "validation": f"mean over per-user 75/25 splits of train, seeds {list(VALIDATION_SEEDS)} "
        f"(per model where set: { ({k: list(v) for k, v in MODEL_VALIDATION_SEEDS.items()}) })",
    }
    for label, space in ML100K_SEARCH.items():
        if models and label not in models:
            continue
        spec = ML100K_MODELS[label]
        n = budget or MODEL_BUDGETS.get(label, SEARCH_BUDGET)
        result = random_search(spec["type"], spec["params"], space, valid(label), budget=n, seed=seed)
        out[label] = result.to_dict()
        progress(
            f"  tuned {label:<10} best validation nDCG@10 "
            f"{result.best.metrics['ndcg_at_k']:.4f} with {json.dumps(result.best.params)}"
        )
    out["search_seconds"] = time.perf_counter() - started
    return out
