"""`shop search ...`: relevance evaluation and ad-hoc queries against the configured index."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Catalog search: evaluate relevance, try queries.", no_args_is_help=True)
RELEVANCE_OUT = Path("bench/results/search_relevance.json")


@app.command("eval")
def eval_cmd(output: Path = typer.Option(RELEVANCE_OUT, help="where to write the report")) -> None:
    """MRR@10 and nDCG@10 of our ranking vs plain BM25 on the DummyJSON known-item set."""
    from search.relevance import run_eval

    report = run_eval()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    ours, bm25 = report["ours"], report["bm25"]
    typer.echo(f"{report['cases']} known-item queries")
    for metric in ("mrr@10", "ndcg@10", "top3"):
        typer.echo(f"  {metric:8} ours {ours[metric]:.4f}   bm25 {bm25[metric]:.4f}")
    typer.echo(f"written to {output}")


@app.command("query")
def query_cmd(
    q: str = typer.Argument("", help="what a shopper would type"),
    category: str | None = typer.Option(None, help="category key, e.g. electronics/phones"),
    sort: str = typer.Option("relevance"),
    size: int = typer.Option(10),
) -> None:
    """Run one search against the configured index (SEARCH_DIR or OPENSEARCH_URL)."""
    from search.config import make_backend
    from search.query import SearchFilters, SearchQuery

    backend = make_backend()
    result = backend.search(SearchQuery(q=q, sort=sort, size=size, highlight=True,
                                        filters=SearchFilters(category=category)))
    typer.echo(f"{result.total} hits")
    for hit in result.hits:
        price = hit.document.price_minor / 100
        typer.echo(f"{hit.id:>8}  {price:>10.2f} {hit.document.currency}  {hit.document.title}")
    if result.suggestion:
        typer.echo(f"no results; try {result.suggestion.q!r} ({result.suggestion.total} hits)")


@app.command("reindex")
def reindex_cmd() -> None:
    """Rebuild the index from the catalog database (blue/green: searches keep working)."""
    from services.catalog.app import database, make_search_backend
    from services.catalog.popularity import PopularitySignal
    from services.catalog.reindex import reindex
    from services.catalog.settings import CatalogSettings

    settings = CatalogSettings()
    db = database(settings)
    db.migrate()
    backend = make_search_backend(settings)
    try:
        signal = PopularitySignal(settings.popularity_signal)
        signal.refresh()
        report = reindex(db, backend, popularity=signal.of)
    finally:
        backend.close()
    typer.echo(f"index {report['index']}: {report['documents']} documents in "
               f"{report['seconds']} s; {report['requeued']} recent changes re-queued")
