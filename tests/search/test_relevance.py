"""Known-item relevance on the real demo catalog: every target must rank in the top 3."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from search.query import SearchQuery
from search.relevance import KNOWN_ITEMS, KnownItem, demo_index, evaluate, ndcg, rank_of
from search.tantivy_backend import TantivyBackend


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TantivyBackend]:
    backend = demo_index(Path(tmp_path_factory.mktemp("demo")))
    yield backend
    backend.close()


@pytest.mark.parametrize("item", KNOWN_ITEMS, ids=lambda i: f"{i.kind}:{i.query}")
def test_known_item_in_top_3(demo: TantivyBackend, item: KnownItem) -> None:
    ranked = [h.id for h in demo.search(SearchQuery(q=item.query, size=10)).hits]
    rank = rank_of(item.target, ranked)
    assert rank is not None and rank <= 3, f"{item.query!r}: target {item.target} at {rank}"


def test_every_kind_is_covered() -> None:
    kinds = {i.kind for i in KNOWN_ITEMS}
    assert kinds == {"misspelling", "missing-word", "synonym", "brand-type"}
    assert all(sum(i.kind == k for i in KNOWN_ITEMS) >= 8 for k in kinds)


def test_our_ranking_beats_plain_bm25(demo: TantivyBackend) -> None:
    report = evaluate(demo)
    assert report["ours"]["mrr@10"] > report["bm25"]["mrr@10"]
    assert report["ours"]["ndcg@10"] > report["bm25"]["ndcg@10"]


def test_metrics() -> None:
    assert rank_of(5, [1, 5, 9]) == 2 and rank_of(5, list(range(20, 40))) is None
    assert ndcg(1) == 1.0 and ndcg(3) == 0.5 and ndcg(None) == 0.0
