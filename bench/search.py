"""Search benchmark on a generated 100,000-product catalog (all numbers from one run).

- indexing: generate -> build documents -> full blue/green rebuild, in products/s
  (target: full reindex of 100k < 60 s);
- search: the library's `search()` (request validation, query building, filters, four facets,
  hydration of the top 20, the relaxed suggestion when nothing matches) vs the raw tantivy calls
  that return the same hits, facet counts and suggestion (prebuilt queries: search, aggregate,
  stored-document fetch, and the suggestion's count queries and vocabulary look-ups as the
  library made them); target p50 <= 2x raw.
Two query mixes: WANDS's 480 real shopper queries (home goods; many match nothing in the
generated catalog, so they also exercise the relaxed-suggestion path) and 480 queries derived
from the catalog's own titles (some with a typo); every second query carries filters.

Run: python -m bench.search [--products N]  ->  bench/results/search.json
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tantivy

from search.demo_catalog import datasets_dir
from search.documents import build_document
from search.facets import aggregation_spec
from search.generator import generate_products
from search.query import Facet, SearchQuery
from search.tantivy_backend import FACET_FIELDS, TantivyBackend, vocabulary

OUT = Path("bench/results/search.json")
FACETS = [Facet.category, Facet.brand, Facet.price, Facet.rating]
ROUNDS = 3


def wands_queries() -> list[str]:
    path = datasets_dir() / "wands" / "query.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        return [row["query"] for row in csv.DictReader(fh, delimiter="\t")]


def catalog_queries(products: list[dict[str, Any]], n: int = 480) -> list[str]:
    """Shopper-like queries for generated products: two or three title words, 1 in 4 misspelt."""
    rng = random.Random(7)
    out = []
    for product in rng.sample(products, n):
        words = [w for w in product["title"].replace(",", "").lower().split() if w.isalpha()]
        picked = sorted(rng.sample(range(len(words)), k=min(len(words), rng.choice((2, 3)))))
        chosen = [words[i] for i in picked]
        longest = max(range(len(chosen)), key=lambda i: len(chosen[i]))
        if rng.random() < 0.25 and len(chosen[longest]) >= 5:
            w = chosen[longest]
            chosen[longest] = w[:2] + w[3] + w[2] + w[4:]  # swap two letters
        out.append(" ".join(chosen))
    return out


def request_for(i: int, q: str) -> dict[str, Any]:
    filters = {"in_stock": True, "price_max": 50_000} if i % 2 else {}
    return {"q": q, "facets": FACETS, "size": 20, "filters": filters}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
        "queries_per_s": round(len(ordered) / sum(ordered), 1),
    }


@dataclass
class RawPlan:
    """The engine calls behind one library answer, prebuilt: the query with its hits and facets
    and, for a query that matches nothing, the count queries and vocabulary look-ups the relaxed
    suggestion made (recorded from the library's own run, so both sides do the same engine work)."""

    query: tantivy.Query | None
    counts: list[tantivy.Query] = field(default_factory=list)
    vocabulary: list[str] = field(default_factory=list)


def raw_call(searcher: tantivy.Searcher, plan: RawPlan, agg: dict) -> list[int]:
    ids: list[int] = []
    if plan.query is not None:
        hits = searcher.search(plan.query, limit=20, count=True, weight_by_field="boost").hits
        searcher.aggregate(plan.query, agg)
        ids = [searcher.doc(addr).get_first("id") for _, addr in hits]
    for query in plan.counts:
        searcher.search(query, limit=1, count=True)
    for word in plan.vocabulary:
        searcher.terms_with_prefix("spell", word[:1], limit=5_000)
    return ids


def built(backend: TantivyBackend, sq: SearchQuery,
          known: Callable[[str], bool]) -> tantivy.Query | None:
    """The engine query the library builds for `sq` (see TantivyBackend.search and count)."""
    text = backend.builder.text(sq.q, known=known) if sq.q else None
    if text is not None and text.query is None:
        return None
    return backend.builder.combine(text.query if text else None, backend.builder.filters(sq.filters))


def raw_plans(backend: TantivyBackend, searcher: tantivy.Searcher,
              requests: list[dict[str, Any]]) -> list[RawPlan]:
    """Runs each request through the library once, recording the suggestion's engine calls."""
    known = vocabulary(searcher)
    plans = []
    for r in requests:
        sq = SearchQuery.model_validate(r)
        plan = RawPlan(built(backend, sq, known))

        def count(q: SearchQuery, plan: RawPlan = plan) -> int:
            plan.counts.append(built(backend, q, known))
            return TantivyBackend.count(backend, q)

        def vocabulary_near(word: str, plan: RawPlan = plan) -> list[tuple[str, int]]:
            plan.vocabulary.append(word)
            return TantivyBackend.vocabulary_near(backend, word)

        backend.count, backend.vocabulary_near = count, vocabulary_near  # type: ignore[method-assign]
        try:
            backend.search(sq)
        finally:
            del backend.count, backend.vocabulary_near
        plan.counts = [q for q in plan.counts if q is not None]
        plans.append(plan)
    return plans


def measure(backend: TantivyBackend, searcher: tantivy.Searcher,
            queries: list[str]) -> dict[str, Any]:
    requests = [request_for(i, q) for i, q in enumerate(queries)]
    agg = aggregation_spec(FACETS, FACET_FIELDS)
    plans = raw_plans(backend, searcher, requests)  # the raw baseline gets its queries for free
    lib_times: list[float] = []
    raw_times: list[float] = []
    lib_found: list[float] = []
    raw_found: list[float] = []
    same_hits = zero = 0
    for rnd in range(ROUNDS + 1):  # round 0 warms caches and is not timed
        for r, plan in zip(requests, plans, strict=True):
            s = time.perf_counter()
            result = backend.search(SearchQuery.model_validate(r))
            lib = time.perf_counter() - s
            s = time.perf_counter()
            raw_ids = raw_call(searcher, plan, agg)
            raw = time.perf_counter() - s
            if rnd == 0:
                zero += result.total == 0
                same_hits += set(raw_ids) == {h.id for h in result.hits}
                continue
            lib_times.append(lib)
            raw_times.append(raw)
            if result.total:
                lib_found.append(lib)
                raw_found.append(raw)
    lib_stats, raw_stats = percentiles(lib_times), percentiles(raw_times)
    found = {"library": percentiles(lib_found), "raw_tantivy": percentiles(raw_found)}
    found["ratio_p50"] = round(found["library"]["p50_ms"] / found["raw_tantivy"]["p50_ms"], 2)
    return {
        "queries": len(requests),
        "zero_result_rate": round(zero / len(requests), 3),
        "same_hits_as_raw": round(same_hits / len(requests), 3),
        "raw_suggestion_calls": sum(len(p.counts) + len(p.vocabulary) for p in plans),
        "library": lib_stats,
        "raw_tantivy": raw_stats,
        "ratio_p50": round(lib_stats["p50_ms"] / raw_stats["p50_ms"], 2),
        "ratio_p99": round(lib_stats["p99_ms"] / raw_stats["p99_ms"], 2),
        "queries_with_hits": found,
        "met": lib_stats["p50_ms"] <= 2 * raw_stats["p50_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=100_000)
    args = parser.parse_args()
    n = args.products

    with tempfile.TemporaryDirectory() as tmp:
        backend = TantivyBackend(Path(tmp))
        t0 = time.perf_counter()
        products = list(generate_products(n))
        t1 = time.perf_counter()
        backend.rebuild(build_document(p) for p in products)
        t2 = time.perf_counter()
        print(f"generated {n} products in {t1 - t0:.1f} s; indexed in {t2 - t1:.1f} s "
              f"({n / (t2 - t1):,.0f} products/s)")

        mixes = {"wands": wands_queries(), "catalog": catalog_queries(products)}
        del products
        searcher = backend._current().index.searcher()  # noqa: SLF001 - the raw baseline
        search_report = {name: measure(backend, searcher, queries)
                         for name, queries in mixes.items()}
        backend.close()

    report = {
        "catalog_products": n,
        "indexing": {
            "generate_s": round(t1 - t0, 2),
            "full_reindex_s": round(t2 - t1, 2),
            "products_per_s": round(n / (t2 - t1)),
            "target_full_reindex_s": 60,
            "met": (t2 - t1) < 60,
        },
        "search": {
            "rounds": ROUNDS,
            "request": "4 facets, top 20 hydrated; every second query with in_stock + price_max",
            "target_ratio_p50": 2.0,
            **search_report,
        },
    }
    for name, r in search_report.items():
        print(f"[{name}] library p50 {r['library']['p50_ms']} ms vs raw "
              f"{r['raw_tantivy']['p50_ms']} ms (x{r['ratio_p50']}), p99 "
              f"{r['library']['p99_ms']} vs {r['raw_tantivy']['p99_ms']} ms; "
              f"zero-result rate {r['zero_result_rate']}, same hits as raw "
              f"{r['same_hits_as_raw']}; with hits only: x{r['queries_with_hits']['ratio_p50']}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
