"""The catalog-indexer process: keeps the search index and the availability table current.

It consumes the catalog's own stream (product and review events) and the inventory stream
(`inventory.stock_changed`). Handling an event only records *which* product must be rewritten
(`index_queue`, in the same transaction as the processed-event id, so nothing is lost or done
twice); after each batch read from the bus, `flush` loads those products from the catalog
database and writes their documents in one engine commit. A burst of events thus costs one
commit, and the index lags the bus by one poll (well under a second).

Run by `shop up` as `python -m services.catalog.indexer`. One process owns the index writer
(tantivy's directory lock), so this is the only writer besides a blue/green `reindex`.
"""

from __future__ import annotations

import threading
import time

import structlog
from redis import Redis
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from search.backend import SearchBackend
from services.catalog import domain
from services.catalog.documents import all_documents, documents_for, no_signal
from services.catalog.events import (
    INDEX_SOURCE,
    INVENTORY_STREAM,
    SOURCE,
    STOCK_CHANGED,
    IndexUpdated,
    StockChangedView,
)
from services.catalog.popularity import PopularitySignal
from services.catalog.store import (
    PROCESSED,
    IndexQueue,
    Product,
    availability_of,
    enqueue,
    enqueue_all,
    product_by_sku,
    upsert_availability,
)
from services.platform.consumer import Consumer, SqlIdempotency
from services.platform.db import Database
from services.platform.events import Event, make_event, stream_for
from services.platform.outbox import STREAM_MAXLEN
from services.platform.worker import stop_on_signals

log = structlog.get_logger("catalog-indexer")

GROUP = "catalog-indexer"
PRODUCT_EVENTS = ("catalog.product_created", "catalog.product_updated", "catalog.product_deleted")
FLUSH_BATCH = 2_000


class Indexer:
    def __init__(self, *, db: Database, backend: SearchBackend, redis: Redis,
                 consumer_name: str | None = None, popularity: PopularitySignal | None = None):
        self.db = db
        self.backend = backend
        self.popularity = popularity
        self.consumer = Consumer(
            redis, group=GROUP, streams=[stream_for(SOURCE), INVENTORY_STREAM],
            handler=self.handle, idempotency=SqlIdempotency(db, PROCESSED, GROUP),
            consumer_name=consumer_name, batch=500)
        self.stats = {"indexed": 0, "deleted": 0}

    def handle(self, event: Event, session: Session) -> None:
        """Runs inside the consumer's transaction (`session`), once per event id."""
        if event.type in PRODUCT_EVENTS or event.type.startswith("review."):
            enqueue(session, [int(event.data["product_id"])])
        elif event.type == STOCK_CHANGED:
            self._stock_changed(session, event)

    def _stock_changed(self, session: Session, event: Event) -> None:
        view = StockChangedView.model_validate(event.data)
        current = availability_of(session, view.sku)
        if not domain.is_newer(current=current.as_of if current else None,
                               incoming=event.occurred_at):
            return
        upsert_availability(session, sku=view.sku, available=view.available,
                            as_of=event.occurred_at)
        product = product_by_sku(session, view.sku)
        if product is not None:
            enqueue(session, [product.id])

    def flush(self, limit: int = FLUSH_BATCH) -> int:
        """Rewrite the documents of queued products; return how many products were handled."""
        with self.db.read() as session:
            rows = session.execute(select(IndexQueue.seq, IndexQueue.product_id)
                                   .order_by(IndexQueue.seq).limit(limit)).all()
            if not rows:
                return 0
            ids = sorted({pid for _, pid in rows})
            docs = documents_for(session, ids, self.popularity.of if self.popularity else no_signal)
        if docs:  # the engine write happens outside any database transaction
            self.backend.index(docs)
        missing = sorted(set(ids) - {d.id for d in docs})
        if missing:
            self.backend.delete(missing)
        with self.db.session() as session:
            session.execute(delete(IndexQueue).where(IndexQueue.seq.in_([s for s, _ in rows])))
        self.stats["indexed"] += len(docs)
        self.stats["deleted"] += len(missing)
        return len(ids)

    def bootstrap(self) -> None:
        """An index that does not exist yet is built from the database before following events."""
        if self.backend.current_index() is not None:
            return
        if self.popularity:
            self.popularity.refresh()
        with self.db.read() as session:
            products = session.scalar(select(func.count()).select_from(Product)) or 0
            if products:
                log.info("index_missing_rebuilding", products=products)
                self.backend.rebuild(all_documents(session, self.popularity.of
                                                   if self.popularity else no_signal))
        self.backend.ensure_index()

    def step(self, block_ms: int = 200) -> int:
        events = self.consumer.poll_once(block_ms=block_ms)
        changed = self.popularity.refresh() if self.popularity else []
        if changed != []:  # a new warehouse signal: rewrite the products whose popularity moved
            with self.db.session() as session:
                if changed is None:  # it appeared or went away: every product moved
                    enqueue_all(session)
                else:
                    enqueue(session, changed)
        flushed = 0
        while n := self.flush():
            flushed += n
        if flushed:
            self._announce(flushed)
        if events or flushed:
            log.info("indexed", events=events, products=flushed, **self.stats)
        return events

    def _announce(self, products: int) -> None:
        event = make_event(IndexUpdated(index=self.backend.current_index(), products=products),
                           source=INDEX_SOURCE)
        self.consumer.redis.xadd(stream_for(INDEX_SOURCE), {"event": event.to_json()},
                                 maxlen=STREAM_MAXLEN, approximate=True)

    def run(self, stop: threading.Event | None = None, *, block_ms: int = 200) -> None:
        self.bootstrap()
        log.info("indexer_started", index=self.backend.current_index())
        while stop is None or not stop.is_set():
            try:
                self.step(block_ms)
            except Exception:
                log.exception("indexer_step_failed")
                time.sleep(1.0)


def main() -> None:  # pragma: no cover - exercised by the whole-stack run
    from services.catalog.app import make_search_backend, worker_resources

    settings, db, redis = worker_resources("catalog-indexer")
    stop = stop_on_signals()
    backend = make_search_backend(settings)
    try:
        Indexer(db=db, backend=backend, redis=redis,
                popularity=PopularitySignal(settings.popularity_signal)).run(stop)
    finally:
        backend.close()


if __name__ == "__main__":
    main()
