"""Known-item relevance set over the DummyJSON demo catalog, and ranking metrics.

Each case is a query a shopper could type for one specific product (a misspelling, a title
with words missing, a synonym, brand + product type) and the id of that product. Our ranking
is compared with a plain BM25 query on the same index in the same run.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search.demo_catalog import load_dummyjson
from search.documents import build_document
from search.query import SearchQuery
from search.tantivy_backend import TantivyBackend

K = 10


@dataclass(frozen=True)
class KnownItem:
    query: str
    target: int  # DummyJSON product id
    kind: str  # misspelling | missing-word | synonym | brand-type


def _cases(kind: str, pairs: list[tuple[str, int]]) -> list[KnownItem]:
    return [KnownItem(q, t, kind) for q, t in pairs]


KNOWN_ITEMS: list[KnownItem] = [
    *_cases("misspelling", [
        ("mascra lash princess", 1), ("iphnoe 13", 123), ("samsnug galaxy s10", 133),
        ("rollex submariner", 98), ("macbok pro", 78), ("lenovo yogga", 81),
        ("nescaffe coffee", 34), ("strawbery", 40), ("microwve oven", 66),
        ("chopping bord", 53), ("basketbal rim", 141), ("shuttlecok", 146),
    ]),
    *_cases("missing-word", [
        ("coco noir", 7), ("conference chair", 14), ("shea butter body wash", 119),
        ("zenbook dual screen", 79), ("future rider", 90), ("airpods max", 101),
        ("homepod mini", 103), ("galaxy tab s8", 160), ("magsafe battery", 105),
        ("bedside table cherry", 13), ("rolling pin", 76), ("wooden sink mirror", 15),
    ]),
    *_cases("synonym", [
        ("couch annibale colombo", 12), ("cologne calvin klein", 6),
        ("notebook computer dell", 82), ("wristwatch gold women", 193),
        ("motorbike scooter", 116), ("purse blue", 172), ("television camera pedestal", 112),
        ("dior fragrance", 8), ("mobile phone case", 108), ("nightstand", 13),
    ]),
    *_cases("brand-type", [
        ("apple laptop", 78), ("nike cleats", 89), ("samsung tablet white", 161),
        ("dell laptop", 82), ("prada bag", 174), ("olay body wash", 119),
        ("beats earphones", 107), ("amazon speaker", 99), ("huawei laptop", 80),
        ("gucci perfume", 10), ("vaseline lotion", 120), ("knoll chair", 14),
        ("dodge suv", 170), ("rolex watch", 98),
    ]),
]


def rank_of(target: int, ranked: list[int], k: int = K) -> int | None:
    """1-based rank of the target within the top k, or None."""
    top = ranked[:k]
    return top.index(target) + 1 if target in top else None


def reciprocal_rank(rank: int | None) -> float:
    return 1.0 / rank if rank else 0.0


def ndcg(rank: int | None) -> float:
    """nDCG with one relevant item: the ideal DCG is 1, so it is 1/log2(rank + 1)."""
    return 1.0 / math.log2(rank + 1) if rank else 0.0


def score(rankings: dict[KnownItem, list[int]]) -> dict[str, Any]:
    ranks = {item: rank_of(item.target, ids) for item, ids in rankings.items()}
    n = len(ranks)
    per_kind: dict[str, dict[str, float]] = {}
    for kind in sorted({i.kind for i in ranks}):
        sub = [r for i, r in ranks.items() if i.kind == kind]
        per_kind[kind] = {
            "mrr@10": round(sum(map(reciprocal_rank, sub)) / len(sub), 4),
            "ndcg@10": round(sum(map(ndcg, sub)) / len(sub), 4),
            "top3": round(sum(1 for r in sub if r and r <= 3) / len(sub), 4),
        }
    return {
        "mrr@10": round(sum(map(reciprocal_rank, ranks.values())) / n, 4),
        "ndcg@10": round(sum(map(ndcg, ranks.values())) / n, 4),
        "top3": round(sum(1 for r in ranks.values() if r and r <= 3) / n, 4),
        "by_kind": per_kind,
        "misses": [{"query": i.query, "target": i.target, "rank": r}
                   for i, r in ranks.items() if not r or r > 3],
    }


def demo_index(root: Path) -> TantivyBackend:
    backend = TantivyBackend(root)
    backend.rebuild(build_document(p) for p in load_dummyjson())
    return backend


def evaluate(backend: TantivyBackend, items: list[KnownItem] = KNOWN_ITEMS) -> dict[str, Any]:
    """Our ranking and plain BM25 over the same index and the same queries."""
    ours: Callable[[str], list[int]] = lambda q: [  # noqa: E731
        h.id for h in backend.search(SearchQuery(q=q, size=K)).hits]
    return {
        "cases": len(items),
        "ours": score({i: ours(i.query) for i in items}),
        "bm25": score({i: backend.plain_bm25_ids(i.query, K) for i in items}),
    }


def run_eval() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        backend = demo_index(Path(tmp))
        try:
            return evaluate(backend)
        finally:
            backend.close()
