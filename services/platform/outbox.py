"""Transactional outbox and its relay to Redis Streams.

A service writes its events into its own `outbox` table in the same transaction as the state
change (`publish`), so an event exists if and only if the change committed. The relay process
copies unpublished rows to the service's stream and marks them; a crash between the two re-sends
a row, which is why consumers deduplicate by event id (at least once on the wire, exactly once in
effect).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from redis import Redis
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    cast,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Session

from services.platform.db import Database, Probe
from services.platform.events import Event, EventData, make_event, stream_for

log = structlog.get_logger("outbox")

STREAM_MAXLEN = 1_000_000
"""Approximate cap of a stream; the lake holds the full history."""


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
               autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(100), nullable=False),
        Column("envelope", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True, index=True),
    )


def processed_events_table(metadata: MetaData) -> Table:
    """Ids of consumed events: the consumer's idempotency record, in its own database."""
    return Table(
        "processed_events",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


class Outbox:
    """Writes events of one service into its outbox table."""

    def __init__(self, table: Table, source: str):
        self.table = table
        self.source = source
        self._insert = table.insert()
        """Built once: a statement made per event (`insert().values(...)`) pays SQLAlchemy's
        statement construction and cache-key walk on every publish."""

    def publish(self, session: Session, data: EventData, *, subject: str | None = None) -> Event:
        event = make_event(data, source=self.source, subject=subject)
        self.add(session, event)
        return event

    def add(self, session: Session, event: Event) -> None:
        # A plain Core insert on the session's connection (the session's transaction): nothing
        # ORM-side to flush or load for it.
        session.connection().execute(self._insert, {
            "event_id": event.id,
            "event_type": event.type,
            "envelope": event.model_dump(mode="json"),
            "created_at": event.occurred_at,
        })


class OutboxRelay:
    """Moves committed outbox rows to the service's Redis stream, oldest first."""

    def __init__(self, db: Database, table: Table, redis: Redis, source: str, batch: int = 500):
        self.db = db
        self.table = table
        self.redis = redis
        self.stream = stream_for(source)
        self.batch = batch
        unpublished = table.c.published_at.is_(None)
        # The envelope as its stored JSON text: it was validated when it was written, and is
        # sent as it is.
        self._pending = (select(table.c.seq, cast(table.c.envelope, Text)).where(unpublished)
                         .order_by(table.c.seq).limit(batch))
        self._any_pending = Probe(db, select(table.c.seq).where(unpublished))

    def relay_once(self) -> int:
        """Publish one batch; return how many rows were relayed.

        PostgreSQL: the batch is locked (SKIP LOCKED), so relays running side by side take
        disjoint rows. SQLite: the relay looks in a read transaction and takes the file's one
        write lock only to mark what it published; polling under the write lock 20 times a
        second made the service's own writers wait in SQLite's busy handler (sleeps of up to
        100 ms)."""
        if not self._any_pending():
            return 0
        postgres = self.db.engine.dialect.name == "postgresql"
        with self.db.session() if postgres else self.db.read() as session:
            rows = session.execute(self._pending.with_for_update(skip_locked=True) if postgres
                                   else self._pending).all()
            if not rows:
                return 0
            pipe = self.redis.pipeline(transaction=False)
            for _seq, envelope in rows:
                pipe.xadd(self.stream, {"event": envelope}, maxlen=STREAM_MAXLEN, approximate=True)
            pipe.execute()
            if postgres:
                self._mark(session, rows)
        if not postgres:
            with self.db.session() as session:
                self._mark(session, rows)
        return len(rows)

    def _mark(self, session: Session, rows: Sequence[Row[Any]]) -> None:
        session.execute(update(self.table).where(self.table.c.seq.in_([r.seq for r in rows]))
                        .values(published_at=datetime.now(UTC)))

    def prune(self, older_than: timedelta = timedelta(days=7)) -> int:
        """Forget rows published long ago (the stream and the lake keep them)."""
        cutoff = datetime.now(UTC) - older_than
        with self.db.session() as session:
            result = session.execute(delete(self.table).where(self.table.c.published_at < cutoff))
            return result.rowcount or 0

    def run(self, *, interval: float = 0.05, stop: object = None) -> None:
        """Relay forever (until `stop.is_set()`), polling quickly while there is work."""
        relayed_total = 0
        last_prune = time.monotonic()
        while stop is None or not stop.is_set():  # type: ignore[attr-defined]
            try:
                n = self.relay_once()
            except Exception:
                log.exception("relay_failed", stream=self.stream)
                time.sleep(1.0)
                continue
            relayed_total += n
            if n:
                log.info("relayed", stream=self.stream, count=n, total=relayed_total)
            if time.monotonic() - last_prune > 3600:
                self.prune()
                last_prune = time.monotonic()
            if n < self.batch:
                time.sleep(interval)
