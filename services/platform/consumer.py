"""Consumer base for Redis Streams: consumer groups, acks, retries with backoff, dead letters,
and idempotent handling.

A message is acknowledged only after its handler succeeded (or it was dead-lettered), so a
crashed consumer's work is redelivered. Failed messages stay pending and are retried with an
exponential backoff (`XPENDING` idle time vs `retry_base_ms * 2**(attempt-1)`); after
`max_attempts` deliveries, or at once when the envelope is malformed, the message goes to the
dead-letter stream `shop:dlq:<group>` with the reason, and the stream moves on. Handlers run at most
once per event id in effect thanks to an `Idempotency` record (SQL, in the same transaction as
the handler's own writes, or Redis for handlers whose effects are idempotent by themselves).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from redis import Redis
from redis.exceptions import ResponseError
from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError

from services.platform.db import Database
from services.platform.events import Event

log = structlog.get_logger("consumer")

Handler = Callable[[Event, Any], None]
"""`handler(event, session)`: the session is the SQL unit of work (or None for Redis records)."""


def dlq_stream(group: str) -> str:
    return f"shop:dlq:{group}"


class Idempotency(Protocol):
    def run_once(self, event: Event, handler: Handler) -> bool:
        """Run the handler unless this event was already handled; True if it ran."""


class SqlIdempotency:
    """Processed ids in the consumer's own database, written with the handler's effects."""

    def __init__(self, db: Database, table: Table, consumer: str):
        self.db, self.table, self.consumer = db, table, consumer

    def run_once(self, event: Event, handler: Handler) -> bool:
        t = self.table
        try:
            with self.db.session() as session:
                seen = session.execute(
                    select(t.c.event_id).where(t.c.consumer == self.consumer, t.c.event_id == event.id)
                ).first()
                if seen:
                    return False
                handler(event, session)
                session.execute(
                    t.insert().values(
                        consumer=self.consumer, event_id=event.id, processed_at=datetime.now(UTC)
                    )
                )
        except IntegrityError:
            return False  # a concurrent delivery of the same event won the race
        return True


class RedisIdempotency:
    """Processed ids as Redis keys with a TTL longer than any redelivery window."""

    def __init__(self, redis: Redis, consumer: str, ttl_seconds: int = 7 * 24 * 3600):
        self.redis, self.consumer, self.ttl = redis, consumer, ttl_seconds

    def run_once(self, event: Event, handler: Handler) -> bool:
        key = f"shop:processed:{self.consumer}:{event.id}"
        if not self.redis.set(key, b"1", nx=True, ex=self.ttl):
            return False
        try:
            handler(event, None)
        except BaseException:
            self.redis.delete(key)
            raise
        return True


class AlwaysRun:
    """For handlers idempotent by construction (the lake dedupes by event id downstream)."""

    def run_once(self, event: Event, handler: Handler) -> bool:
        handler(event, None)
        return True


class Consumer:
    """Reads `streams` in consumer group `group` and feeds each event to `handler`.

    With `defer_ack=True` a handled message is only acknowledged by `ack_handled()`: a batching
    handler (the lake writer) calls it after its batch is durable, so a crash loses nothing.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        group: str,
        streams: list[str],
        handler: Handler,
        idempotency: Idempotency,
        consumer_name: str | None = None,
        max_attempts: int = 5,
        retry_base_ms: int = 500,
        batch: int = 100,
        start_id: str = "0",
        defer_ack: bool = False,
        accepts: Callable[[Event], bool] | None = None,
    ):
        self.redis = redis
        self.group = group
        self.streams = streams
        self.handler = handler
        self.idempotency = idempotency
        self.name = consumer_name or f"{socket.gethostname()}-{threading.get_native_id()}"
        self.max_attempts = max_attempts
        self.retry_base_ms = retry_base_ms
        self.batch = batch
        self.start_id = start_id
        self.defer_ack = defer_ack
        self.accepts = accepts
        """Events it turns down are acknowledged unhandled, without an idempotency record: a
        stream carries every event of its source, and a SQL record costs a write transaction."""
        self.handled: list[tuple[str, bytes]] = []
        self.stats = {"handled": 0, "duplicates": 0, "skipped": 0, "failed": 0, "dead_lettered": 0}
        self._groups_ready = False

    def ensure_groups(self) -> None:
        for stream in self.streams:
            try:
                self.redis.xgroup_create(stream, self.group, id=self.start_id, mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._groups_ready = True

    def poll_once(self, block_ms: int = 1000) -> int:
        """Retry due pending messages, then read new ones; return how many were processed."""
        if not self._groups_ready:
            self.ensure_groups()
        try:
            count = self.retry_due()
            replies = self.redis.xreadgroup(
                self.group, self.name, {s: ">" for s in self.streams}, count=self.batch, block=block_ms
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc):  # the stream was deleted under us: recreate and go on,
                self._groups_ready = False  # from its start: whatever it holds now is new
                self.start_id = "0"
                return 0
            raise
        for stream, messages in replies or []:
            for msg_id, fields in messages:
                self._process(_s(stream), msg_id, fields, attempt=1)
                count += 1
        return count

    def retry_due(self) -> int:
        """Claim and re-run pending messages whose backoff has elapsed."""
        done = 0
        for stream in self.streams:
            pending = self.redis.xpending_range(stream, self.group, min="-", max="+",
                                                count=self.batch)
            for entry in pending:
                attempts = entry["times_delivered"]
                if entry["time_since_delivered"] < self.retry_base_ms * 2 ** (attempts - 1):
                    continue
                claimed = self.redis.xclaim(
                    stream, self.group, self.name, min_idle_time=0, message_ids=[entry["message_id"]]
                )
                for msg_id, fields in claimed:
                    if fields is None:  # trimmed from the stream meanwhile
                        self.redis.xack(stream, self.group, msg_id)
                        continue
                    self._process(stream, msg_id, fields, attempt=attempts + 1)
                    done += 1
        return done

    def _process(self, stream: str, msg_id: bytes, fields: dict, *, attempt: int) -> None:
        raw = fields.get(b"event") or fields.get("event")
        try:
            event = Event.from_json(raw)
        except Exception as exc:  # malformed: retrying cannot help
            self._dead_letter(stream, msg_id, raw, f"malformed envelope: {exc}", attempt)
            return
        if self.accepts is not None and not self.accepts(event):
            outcome = "skipped"
        else:
            try:
                ran = self.idempotency.run_once(event, self.handler)
                outcome = "handled" if ran else "duplicates"
            except Exception as exc:
                self.stats["failed"] += 1
                log.warning("handler_failed", group=self.group, event_id=event.id, type=event.type,
                            attempt=attempt, error=str(exc)[:500])
                if attempt >= self.max_attempts:
                    self._dead_letter(stream, msg_id, raw, f"handler failed: {exc}", attempt)
                return
        self.stats[outcome] += 1
        if self.defer_ack:
            self.handled.append((stream, msg_id))
        else:
            self.redis.xack(stream, self.group, msg_id)

    def ack_handled(self) -> int:
        """Acknowledge every message handled since the last call (deferred mode)."""
        done, self.handled = self.handled, []
        if done:
            pipe = self.redis.pipeline(transaction=False)
            for stream, msg_id in done:
                pipe.xack(stream, self.group, msg_id)
            pipe.execute()
        return len(done)

    def add_streams(self, streams: list[str]) -> list[str]:
        """Follow more streams (e.g. a service that started publishing); returns the new ones."""
        new = [s for s in streams if s not in self.streams]
        if new:
            self.streams = [*self.streams, *new]
            self._groups_ready = False
        return new

    def _dead_letter(self, stream: str, msg_id: bytes, raw: Any, reason: str, attempt: int) -> None:
        self.redis.xadd(
            dlq_stream(self.group),
            {
                "event": raw if raw is not None else b"",
                "stream": stream,
                "message_id": msg_id,
                "reason": reason[:2000],
                "attempts": attempt,
                "failed_at": datetime.now(UTC).isoformat(),
            },
        )
        self.redis.xack(stream, self.group, msg_id)
        self.stats["dead_lettered"] += 1
        log.error("dead_lettered", group=self.group, stream=stream, reason=reason[:500])

    def run(self, stop: threading.Event | None = None, *, block_ms: int = 1000) -> None:
        """Consume until `stop` is set; survive Redis hiccups with a pause."""
        log.info("consumer_started", group=self.group, streams=self.streams, name=self.name)
        while stop is None or not stop.is_set():
            try:
                self.poll_once(block_ms=block_ms)
            except Exception:
                log.exception("consumer_poll_failed", group=self.group)
                time.sleep(1.0)


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
