"""Blue/green rebuild of the search index from the catalog database (`shop search reindex`).

The new generation is filled from a consistent read of the catalog while the old one keeps
serving; the alias then swaps atomically. The indexer process may have applied changes to the
*old* generation meanwhile (it is another process, so the engine's own in-process journal cannot
see them): every product changed, deleted or restocked since the rebuild began is therefore put
back on the indexer's queue, and the indexer rewrites them in the new generation within a poll.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import select

from search.backend import SearchBackend
from search.documents import ProductDocument
from services.catalog.documents import Popularity, all_documents, no_signal
from services.catalog.store import Availability, Product, ProductTombstone, enqueue
from services.platform.db import Database

log = structlog.get_logger("reindex")
CLOCK_SLACK = timedelta(seconds=5)
"""Changes this close before the start are re-queued too (clocks of two processes differ)."""


def _counted(docs: Iterable[ProductDocument], counter: list[int]) -> Iterator[ProductDocument]:
    for doc in docs:
        counter[0] += 1
        if counter[0] % 20_000 == 0:
            log.info("reindex_progress", documents=counter[0])
        yield doc


def changed_since(db: Database, since: datetime) -> list[int]:
    with db.read() as session:
        ids = set(session.scalars(select(Product.id).where(Product.updated_at >= since)))
        ids |= set(session.scalars(select(ProductTombstone.product_id)
                                   .where(ProductTombstone.deleted_at >= since)))
        ids |= set(session.scalars(select(Product.id).join(Availability,
                                                           Availability.sku == Product.sku)
                                   .where(Availability.recorded_at >= since)))
    return sorted(ids)


def reindex(db: Database, backend: SearchBackend, *, catch_up: bool = True,
            popularity: Popularity = no_signal) -> dict[str, object]:
    """`catch_up=False` when nothing else can have written meanwhile (the seed, right after
    its own commits): re-queuing its fresh rows would only make the indexer redo them.
    `popularity`: the warehouse's signal (`PopularitySignal.of`)."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    counter = [0]
    with db.read() as session:
        name = backend.rebuild(_counted(all_documents(session, popularity), counter))
    requeued = changed_since(db, started - CLOCK_SLACK) if catch_up else []
    with db.session() as session:
        enqueue(session, requeued)
    seconds = round(time.perf_counter() - t0, 2)
    log.info("reindexed", index=name, documents=counter[0], seconds=seconds,
             requeued=len(requeued))
    return {"index": name, "documents": counter[0], "seconds": seconds,
            "requeued": len(requeued)}
