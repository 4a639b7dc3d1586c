from __future__ import annotations

import time

import pytest
import redis as redis_lib
from sqlalchemy import event, func, select, update

from services.platform.consumer import Consumer, SqlIdempotency
from services.platform.db import Database
from services.platform.events import Event, stream_for
from services.platform.outbox import Outbox, OutboxRelay
from tests.services.platform.conftest import OUTBOX, PROCESSED, ThingCreated, effects, things


def create_thing(db: Database, outbox: Outbox, thing_id: int, *, fail: bool = False) -> None:
    with db.session() as session:
        session.execute(things.insert().values(id=thing_id, name=f"t{thing_id}"))
        outbox.publish(session, ThingCreated(thing_id=thing_id, name=f"t{thing_id}"),
                       subject=str(thing_id))
        if fail:
            raise RuntimeError("boom after the writes")


def count(db: Database, table) -> int:  # type: ignore[no-untyped-def]
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_event_exists_only_if_the_state_change_committed(db: Database, outbox: Outbox) -> None:
    create_thing(db, outbox, 1)
    with pytest.raises(RuntimeError):
        create_thing(db, outbox, 2, fail=True)
    assert count(db, things) == 1
    assert count(db, OUTBOX) == 1


def test_relay_publishes_each_row_once_in_order(
    db: Database, outbox: Outbox, redis_client: redis_lib.Redis
) -> None:
    for i in range(1, 4):
        create_thing(db, outbox, i)
    relay = OutboxRelay(db, OUTBOX, redis_client, source="testsvc")
    assert relay.relay_once() == 3
    assert relay.relay_once() == 0
    entries = redis_client.xrange(stream_for("testsvc"))
    events = [Event.from_json(fields[b"event"]) for _, fields in entries]
    assert [e.data["thing_id"] for e in events] == [1, 2, 3]
    assert all(e.type == "test.thing_created" and e.source == "testsvc" for e in events)


def test_relay_crash_before_marking_redelivers_and_consumer_applies_once(
    db: Database, outbox: Outbox, redis_client: redis_lib.Redis
) -> None:
    create_thing(db, outbox, 7)
    relay = OutboxRelay(db, OUTBOX, redis_client, source="testsvc")
    relay.relay_once()
    with db.session() as session:  # the relay died after XADD, before its mark committed
        session.execute(update(OUTBOX).values(published_at=None))
    relay.relay_once()
    assert redis_client.xlen(stream_for("testsvc")) == 2

    def apply(event: Event, session) -> None:  # type: ignore[no-untyped-def]
        session.execute(effects.insert().values(event_id=event.id))

    consumer = Consumer(redis_client, group="effects", streams=[stream_for("testsvc")],
                        handler=apply, idempotency=SqlIdempotency(db, PROCESSED, "effects"))
    consumer.poll_once(block_ms=10)
    assert count(db, effects) == 1
    assert consumer.stats["handled"] == 1 and consumer.stats["duplicates"] == 1
    assert redis_client.xpending(stream_for("testsvc"), "effects")["pending"] == 0


def test_idle_relay_does_not_wait_for_the_services_write_lock(
    db: Database, outbox: Outbox, redis_client: redis_lib.Redis
) -> None:
    """On SQLite the relay polls without the file's write lock: while the service (another
    connection, as another process would) holds it, an idle poll answers at once instead of
    sleeping in the busy handler."""
    if not db.url.startswith("sqlite"):
        pytest.skip("SQLite's one-writer lock; PostgreSQL relays lock their batch's rows instead")
    create_thing(db, outbox, 1)
    relay = OutboxRelay(db, OUTBOX, redis_client, source="testsvc")
    assert relay.relay_once() == 1
    service = Database(db.url, migrations=None, version_table="unused")  # type: ignore[arg-type]
    try:
        with service.engine.begin():  # BEGIN IMMEDIATE: the service is mid-write
            started = time.monotonic()
            assert relay.relay_once() == 0
            assert time.monotonic() - started < 0.5
    finally:
        service.dispose()


def test_an_idle_relay_poll_is_one_indexed_probe(
    db: Database, outbox: Outbox, redis_client: redis_lib.Redis
) -> None:
    """Relays poll 20 times a second all day: with nothing pending a poll is the probe alone (one
    `SELECT ... LIMIT 1`), not a session's batch query."""
    relay = OutboxRelay(db, OUTBOX, redis_client, source="testsvc")
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()).upper())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert relay.relay_once() == 0
        idle = [s for s in statements if s.startswith("SELECT")]
        create_thing(db, outbox, 1)
        statements.clear()
        assert relay.relay_once() == 1
        busy = [s for s in statements if s.startswith("SELECT")]
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(idle) == 1 and "PUBLISHED_AT IS NULL" in idle[0] and "ENVELOPE" not in idle[0]
    assert len(busy) == 2 and busy[0] == idle[0]  # the probe, then the batch
