"""Search benchmark on a generated 100,000-product catalog (all numbers from one run).

- indexing: generate -> build documents -> full blue/green rebuild, in products/s
  (target: full reindex of 100k < 60 s);
- search: the library's `search()` (request validation, query building, filters, four facets,
  hydration of the top 20) vs the raw tantivy calls that return the same hits and facet counts
  (prebuilt query, search, aggregate, stored-document fetch); target p50 <= 2x raw.
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


def raw_call(searcher: tantivy.Searcher, query: tantivy.Query, agg: dict) -> list[int]:
    hits = searcher.search(query, limit=20, count=True, weight_by_field="boost").hits
    searcher.aggregate(query, agg)
    docs = [searcher.doc(addr) for _, addr in hits]
    return [d.get_first("id") for d in docs]


def measure(backend: TantivyBackend, searcher: tantivy.Searcher,
            queries: list[str]) -> dict[str, Any]:
    requests = [request_for(i, q) for i, q in enumerate(queries)]
    agg = aggregation_spec(FACETS, FACET_FIELDS)
    prebuilt = []
    known = vocabulary(searcher)
    for r in requests:  # the raw baseline gets its query objects for free
        sq = SearchQuery.model_validate(r)
        text = backend.builder.text(sq.q, known=known)  # the same query the library builds
        prebuilt.append(None if text.query is None else
                        backend.builder.combine(text.query, backend.builder.filters(sq.filters)))
    lib_times: list[float] = []
    raw_times: list[float] = []
    lib_found: list[float] = []
    raw_found: list[float] = []
    same_hits = zero = 0
    for rnd in range(ROUNDS + 1):  # round 0 warms caches and is not timed
        for r, query in zip(requests, prebuilt, strict=True):
            s = time.perf_counter()
            result = backend.search(SearchQuery.model_validate(r))
            lib = time.perf_counter() - s
            raw_ids: list[int] = []
            raw = 0.0
            if query is not None:
                s = time.perf_counter()
                raw_ids = raw_call(searcher, query, agg)
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
