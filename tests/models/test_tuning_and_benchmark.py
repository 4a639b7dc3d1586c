"""Seeded search is reproducible; the ML-100K protocol reproduces MS Recommenders' split sizes."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.base import SideInfo
from models.data import InteractionMatrix
from models.movielens import default_path
from models.tuning import ValidationData, random_search, sample_configs, set_path


def test_sample_configs_is_seeded_and_distinct() -> None:
    base = {"l2": 1.0, "components": [{"params": {"x": 0}}], "weights": [1.0, 0.0]}
    space = {"l2": [1.0, 2.0, 3.0], "weights.1": [0.0, 0.5, 1.0], "components.0.params.x": [0, 1]}
    a = sample_configs(base, space, budget=8, seed=3)
    assert a == sample_configs(base, space, budget=8, seed=3)
    assert a[0] == base and len({repr(c) for c in a}) == len(a) == 8
    assert base["weights"] == [1.0, 0.0]  # base untouched
    cfg = {"a": [{"b": 1}]}
    set_path(cfg, "a.0.b", 5)
    assert cfg == {"a": [{"b": 5}]}


def test_random_search_is_reproducible_and_sorted(clustered) -> None:
    train, test, side = clustered
    ids = np.arange(train.shape[0])
    data = ValidationData(
        InteractionMatrix(train, ids, np.arange(train.shape[1])),
        InteractionMatrix(test, ids, np.arange(train.shape[1])),
        SideInfo(),
    )
    space = {"l2": [0.5, 5.0, 50.0, 500.0]}
    r1 = random_search("ease", {"l2": 5.0}, space, data, budget=3, seed=1, k=5)
    r2 = random_search("ease", {"l2": 5.0}, space, data, budget=3, seed=1, k=5)
    assert [t.params for t in r1.trials] == [t.params for t in r2.trials]
    scores = [t.metrics["ndcg_at_k"] for t in r1.trials]
    assert scores == sorted(scores, reverse=True) and r1.best.metrics["ndcg_at_k"] == scores[0]


needs_ml100k = pytest.mark.skipif(
    not (default_path() / "u.data").exists(), reason="MovieLens 100K not available"
)


@needs_ml100k
def test_ml100k_protocol_and_a_strong_model() -> None:
    from models.benchmark import prepare
    from models.evaluate import evaluate
    from models.zoo import build

    data = prepare(split="legacy")
    # MS Recommenders' notebooks (python_stratified_split, seed 42) report 74992 / 25008.
    assert data.train.matrix.nnz == 74_992
    assert data.train_df.height == 74_992
    assert data.test.matrix.nnz + 34 == 25_008  # 34 test ratings of items never in train
    assert data.train.shape == (943, 1649)
    ease = build("ease", {"l2": 500.0}).fit(data.train.matrix)
    m = evaluate(ease, data.train.matrix, data.test.matrix, k=10)
    assert m["ndcg_at_k"] > 0.46  # above the published BPR row (0.442)
    pop = evaluate(build("popularity").fit(data.train.matrix), data.train.matrix, data.test.matrix)
    assert m["ndcg_at_k"] > pop["ndcg_at_k"] + 0.15
    assert isinstance(data.train_df, pl.DataFrame)


def test_random_search_averages_several_validation_splits(clustered) -> None:
    from models.evaluate import evaluate
    from models.zoo import build

    train, test, side = clustered
    ids, items = np.arange(train.shape[0]), np.arange(train.shape[1])
    fold_a = ValidationData(InteractionMatrix(train, ids, items), InteractionMatrix(test, ids, items), side)
    fold_b = ValidationData(InteractionMatrix(test, ids, items), InteractionMatrix(train, ids, items), side)
    result = random_search("ease", {"l2": 5.0}, {"l2": [5.0]}, [fold_a, fold_b], budget=1, seed=0, k=5)
    a = evaluate(build("ease", {"l2": 5.0}).fit(train), train, test, k=5)["ndcg_at_k"]
    b = evaluate(build("ease", {"l2": 5.0}).fit(test), test, train, k=5)["ndcg_at_k"]
    assert result.best.metrics["ndcg_at_k"] == pytest.approx((a + b) / 2)
    with pytest.raises(ValueError, match="at least one"):
        random_search("ease", {"l2": 5.0}, {}, [], budget=1)


@needs_ml100k
def test_validation_splits_hold_no_test_rating() -> None:
    """Tuning (and the reranker's own holdout) only ever sees cells of the 75% train part."""
    from models.benchmark import RATING_WEIGHT, genre_features_for, prepare
    from models.tuning import carve_validation

    data = prepare(split="legacy")
    fold = carve_validation(
        data.train_df.drop("weight"),
        seed=7,
        weight=RATING_WEIGHT,
        item_features=lambda m: genre_features_for(m.item_ids),
    )
    assert fold.side.item_features is not None
    assert fold.side.item_features.shape == (fold.train.shape[1], 19)

    def cells(m: InteractionMatrix) -> set[tuple[int, int]]:
        r, c = m.matrix.nonzero()
        return set(zip(m.user_ids[r].tolist(), m.item_ids[c].tolist(), strict=True))

    seen, train = cells(fold.train) | cells(fold.valid), cells(data.train)
    assert seen <= train and len(seen) > 0.99 * len(train)  # items only in valid are dropped
    assert not seen & cells(data.test)


def test_the_verdict_is_about_the_validation_choice_not_the_best_test_row(monkeypatch) -> None:
    import models.benchmark as bm

    monkeypatch.setattr(bm, "PRIMARY", "popularity")  # a weak primary: itemknn beats it on test
    result = bm.run(models=["popularity", "itemknn"], repeats=1, progress=lambda _: None)
    scores = {r["model"]: r["ndcg_at_k"] for r in result["ours"]}
    assert scores["itemknn"] > scores["popularity"]
    assert result["best"]["model"] == "popularity"
    assert result["best"]["chosen_by"].startswith("validation")
    assert not result["best"]["meets_target"]
    fallback = bm.run(models=["itemknn"], repeats=1, progress=lambda _: None)
    assert fallback["best"]["model"] == "itemknn" and fallback["best"]["chosen_by"].startswith("highest")


@needs_ml100k
def test_a_model_can_be_searched_on_more_validation_splits(monkeypatch) -> None:
    # Each split is carved once and shared; a model listed in MODEL_VALIDATION_SEEDS gets its own.
    import models.benchmark as bm
    import models.tuned as tuned
    import models.tuning as tuning

    carved: list[int] = []
    searched: dict[str, list[str]] = {}

    def fake_carve(df, *, seed, **_):
        carved.append(seed)
        return f"fold{seed}"

    def fake_search(model_type, base, space, folds, *, budget, seed):
        searched[model_type] = list(folds)
        return tuning.SearchResult(
            model_type, "ndcg_at_k", budget, seed, [tuning.Trial(base, {"ndcg_at_k": 0.1}, 0.0)]
        )

    monkeypatch.setattr(tuning, "carve_validation", fake_carve)
    monkeypatch.setattr(tuning, "random_search", fake_search)
    monkeypatch.setattr(tuned, "VALIDATION_SEEDS", (7, 8))
    monkeypatch.setattr(tuned, "MODEL_VALIDATION_SEEDS", {"userknn": (7, 8, 11)})
    log = bm.tune(models=["itemknn", "userknn"], progress=lambda _: None)
    assert searched == {"itemknn": ["fold7", "fold8"], "userknn": ["fold7", "fold8", "fold11"]}
    assert carved == [7, 8, 11]
    assert "userknn" in log["validation"]


def test_the_rerank_base_is_the_blend_with_its_own_als() -> None:
    # The reranker's base blend swaps only its ALS (retuned under the reranker) and keeps the
    # blend's other components; every searched path still points into the specs.
    import copy

    from models.tuned import ALS_PARAMS, BLEND, ML100K_MODELS, ML100K_SEARCH, RERANK_ALS_PARAMS
    from models.tuning import set_path
    from models.zoo import build

    base = ML100K_MODELS["rerank"]["params"]["base"]["params"]
    assert len(base["weights"]) == len(base["components"]) == len(BLEND["params"]["components"])
    for mine, blends in zip(base["components"], BLEND["params"]["components"], strict=True):
        assert mine["type"] == blends["type"]
        assert mine["params"] == (RERANK_ALS_PARAMS if mine["type"] == "als" else blends["params"])
    assert RERANK_ALS_PARAMS != ALS_PARAMS
    assert base["weights"][[c["type"] for c in base["components"]].index("als")] > 0
    for label, space in ML100K_SEARCH.items():
        params = copy.deepcopy(ML100K_MODELS[label]["params"])
        for path, choices in space.items():
            set_path(params, path, choices[-1])
        build(ML100K_MODELS[label]["type"], params)
