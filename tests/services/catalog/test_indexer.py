"""The index follows the catalog through the real outbox relay and the real consumer (threads
standing in for the relay and catalog-indexer processes), and rebuilds blue/green."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl

from services.catalog.popularity import PopularitySignal
from services.catalog.reindex import reindex
from services.catalog.store import OUTBOX
from services.platform.outbox import OutboxRelay
from services.platform.redis import sync_client
from tests.services.catalog.conftest import CatalogService


@contextmanager
def running(catalog: CatalogService) -> Iterator[Any]:
    stop = threading.Event()
    indexer = catalog.indexer()
    relay = OutboxRelay(catalog.app.state.db, OUTBOX, sync_client(catalog.redis_url),
                        source="catalog")
    threads = [threading.Thread(target=relay.run, kwargs={"stop": stop}, daemon=True),
               threading.Thread(target=indexer.run, args=(stop,), daemon=True)]
    for t in threads:
        t.start()
    try:
        yield indexer
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        indexer.backend.close()


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> float:
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, "the index did not catch up"
        time.sleep(0.02)
    return time.monotonic() - start


def found(catalog: CatalogService, q: str) -> list[dict[str, Any]]:
    return catalog.http.get("/api/catalog/search", params={"q": q}).json()["items"]


def test_changes_reach_the_index_within_a_second(catalog: CatalogService) -> None:
    catalog.category("Garden")
    with running(catalog):
        time.sleep(0.3)  # the consumer group exists and the indexer is blocked on the bus
        pid = catalog.product("G-1", "garden", title="Copper watering can")["id"]
        assert wait_for(lambda: bool(found(catalog, "watering can"))) < 1.0
        catalog.http.patch(f"/api/catalog/products/{pid}", headers=catalog.admin,
                           json={"price_minor": 4500})
        lag = wait_for(lambda: [h["price_minor"] for h in found(catalog, "watering can")] == [4500])
        assert lag < 1.0
        catalog.http.delete(f"/api/catalog/products/{pid}", headers=catalog.admin)
        assert wait_for(lambda: not found(catalog, "watering can")) < 1.0


def test_reindex_swaps_generations_and_catches_up_changes(catalog: CatalogService) -> None:
    catalog.category("Garden")
    ids = [catalog.product(f"G-{i}", "garden", title=f"Garden hose {i}")["id"] for i in range(5)]
    with running(catalog) as indexer:
        wait_for(lambda: len(found(catalog, "garden hose")) == 5)
        before = indexer.backend.current_index()
        report = reindex(catalog.app.state.db, catalog.indexer().backend)
        assert report["documents"] == 5 and report["index"] != before
        assert report["requeued"] == 5  # changed within CLOCK_SLACK of the start: harmless
        wait_for(lambda: indexer.backend.current_index() == report["index"])
        assert len(found(catalog, "garden hose")) == 5
        catalog.http.patch(f"/api/catalog/products/{ids[0]}", headers=catalog.admin,
                           json={"title": "Garden hose reel"})
        wait_for(lambda: any("reel" in h["title"] for h in found(catalog, "hose reel")))
    # Changes the indexer wrote into the old generation while a rebuild ran are re-queued:
    catalog.http.delete(f"/api/catalog/products/{ids[1]}", headers=catalog.admin)
    report = reindex(catalog.app.state.db, catalog.indexer().backend)
    assert report["documents"] == 4 and report["requeued"] >= 2  # the renamed and the deleted


def write_signal(catalog: CatalogService, popularity: dict[int, float]) -> None:
    """What the `product_popularity_signal` asset does: a new Parquet file swapped in whole."""
    path = catalog.settings.popularity_signal
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pl.DataFrame({"product_id": list(popularity), "popularity": list(popularity.values())},
                 schema={"product_id": pl.Int64, "popularity": pl.Float64}).write_parquet(tmp)
    tmp.replace(path)


def by_popularity(catalog: CatalogService) -> list[int]:
    r = catalog.http.get("/api/catalog/search", params={"q": "kettle", "sort": "popularity"})
    return [h["id"] for h in r.json()["items"]]


def test_the_warehouse_popularity_signal_reaches_ranking(catalog: CatalogService) -> None:
    catalog.category("Kitchen")
    rated, plain, unlisted = (catalog.product(f"K-{n}", "kitchen", title=f"Kettle {n}")["id"]
                              for n in (1, 2, 3))
    for who in ("ann", "bob", "cy"):  # ratings make these the popular ones until the warehouse speaks
        for pid in (rated, unlisted):
            assert catalog.http.post(f"/api/catalog/products/{pid}/reviews", headers=catalog.user(who),
                                     json={"rating": 5}).status_code == 201
    indexer = catalog.indexer()
    indexer.popularity = PopularitySignal(catalog.settings.popularity_signal)
    catalog.sync_index(indexer)
    assert by_popularity(catalog)[-1] == plain

    write_signal(catalog, {plain: 120.0, rated: 3.0, 999_999: 50.0})  # sales say otherwise
    catalog.sync_index(indexer)  # the signal appeared: every product is rewritten
    assert by_popularity(catalog) == [plain, rated, unlisted]  # unlisted: nothing happened lately

    write_signal(catalog, {plain: 1.0, rated: 80.0})
    assert indexer.popularity.refresh() == [rated, plain, 999_999]  # only what moved is rewritten
    write_signal(catalog, {plain: 1.0, rated: 80.0})  # same values in a new file
    assert indexer.popularity.refresh() == []
    catalog.settings.popularity_signal.write_bytes(b"not parquet")
    assert indexer.popularity.refresh() == [] and indexer.popularity.of(rated) == 80.0
    catalog.settings.popularity_signal.unlink()  # gone: ratings stand in again, for everyone
    catalog.sync_index(indexer)
    assert indexer.popularity.of(rated) is None and by_popularity(catalog)[-1] == plain
    assert PopularitySignal(catalog.settings.popularity_signal).refresh() == []  # none, none since
