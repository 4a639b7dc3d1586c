from __future__ import annotations

import time

import pytest
import redis as redis_lib

from services.platform.consumer import Consumer, RedisIdempotency, dlq_stream
from services.platform.events import Event

STREAM = "shop:events:consumer-test"


def event(n: int) -> Event:
    return Event(type="test.thing_created", source="consumer-test", data={"thing_id": n, "name": "x"})


def make(redis_client: redis_lib.Redis, handler, **kw) -> Consumer:  # type: ignore[no-untyped-def]
    return Consumer(redis_client, group="g", streams=[STREAM], handler=handler,
                    idempotency=RedisIdempotency(redis_client, "g"), retry_base_ms=40, **kw)


def drain(consumer: Consumer, seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        consumer.poll_once(block_ms=20)
        if consumer.redis.xpending(STREAM, consumer.group)["pending"] == 0:
            return


def test_handled_messages_are_acknowledged(redis_client: redis_lib.Redis) -> None:
    seen: list[int] = []
    consumer = make(redis_client, lambda e, _s: seen.append(e.data["thing_id"]))
    consumer.ensure_groups()
    for n in range(5):
        redis_client.xadd(STREAM, {"event": event(n).to_json()})
    drain(consumer)
    assert seen == [0, 1, 2, 3, 4]
    assert redis_client.xpending(STREAM, "g")["pending"] == 0


def test_failures_are_retried_with_backoff_until_success(redis_client: redis_lib.Redis) -> None:
    calls: list[float] = []

    def flaky(e: Event, _s: object) -> None:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise ConnectionError("provider down")

    consumer = make(redis_client, flaky)
    consumer.ensure_groups()
    redis_client.xadd(STREAM, {"event": event(1).to_json()})
    drain(consumer)
    assert len(calls) == 3
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert gaps[0] >= 0.035 and gaps[1] >= 0.075  # 40 ms, then 80 ms
    assert consumer.stats["failed"] == 2 and consumer.stats["handled"] == 1
    assert redis_client.xlen(dlq_stream("g")) == 0


def test_poison_message_is_dead_lettered_and_the_stream_moves_on(
    redis_client: redis_lib.Redis,
) -> None:
    handled: list[int] = []

    def handler(e: Event, _s: object) -> None:
        if e.data["thing_id"] == 13:
            raise ValueError("cannot handle 13")
        handled.append(e.data["thing_id"])

    consumer = make(redis_client, handler, max_attempts=3)
    consumer.ensure_groups()
    redis_client.xadd(STREAM, {"event": event(13).to_json()})
    redis_client.xadd(STREAM, {"event": event(14).to_json()})
    drain(consumer)
    assert handled == [14]
    (_, dead), = redis_client.xrange(dlq_stream("g"))
    assert b"cannot handle 13" in dead[b"reason"]
    assert int(dead[b"attempts"]) == 3
    assert redis_client.xpending(STREAM, "g")["pending"] == 0


def test_malformed_envelope_goes_to_dead_letters_at_once(redis_client: redis_lib.Redis) -> None:
    consumer = make(redis_client, lambda e, _s: None)
    consumer.ensure_groups()
    redis_client.xadd(STREAM, {"event": b"{not json"})
    redis_client.xadd(STREAM, {"nothing": b"here"})
    drain(consumer)
    dead = redis_client.xrange(dlq_stream("g"))
    assert len(dead) == 2
    assert all(b"malformed envelope" in fields[b"reason"] for _, fields in dead)


def test_redelivered_event_has_one_effect(redis_client: redis_lib.Redis) -> None:
    seen: list[str] = []
    consumer = make(redis_client, lambda e, _s: seen.append(e.id))
    consumer.ensure_groups()
    e = event(5)
    redis_client.xadd(STREAM, {"event": e.to_json()})
    redis_client.xadd(STREAM, {"event": e.to_json()})
    drain(consumer)
    assert seen == [e.id]
    assert consumer.stats["duplicates"] == 1


def test_redis_idempotency_forgets_failed_attempts(redis_client: redis_lib.Redis) -> None:
    idem = RedisIdempotency(redis_client, "x")
    e = event(1)

    def boom(_e: Event, _s: object) -> None:
        raise RuntimeError

    with pytest.raises(RuntimeError):
        idem.run_once(e, boom)
    assert idem.run_once(e, lambda _e, _s: None) is True
    assert idem.run_once(e, lambda _e, _s: None) is False


def test_turned_down_events_are_acknowledged_without_a_record(redis_client: redis_lib.Redis) -> None:
    """A consumer that wants a few types of a stream acks the rest unhandled and keeps no
    idempotency record of them (for a SQL record that would be a write transaction each)."""
    seen: list[int] = []
    consumer = make(redis_client, lambda e, _s: seen.append(e.data["thing_id"]),
                    accepts=lambda e: e.data["thing_id"] % 2 == 0)
    consumer.ensure_groups()
    sent = [event(n) for n in range(5)]
    for e in sent:
        redis_client.xadd(STREAM, {"event": e.to_json()})
    drain(consumer)
    assert seen == [0, 2, 4]
    assert consumer.stats["handled"] == 3 and consumer.stats["skipped"] == 2
    assert redis_client.xpending(STREAM, "g")["pending"] == 0
    recorded = {e.id for e in sent if redis_client.exists(f"shop:processed:g:{e.id}")}
    assert recorded == {sent[0].id, sent[2].id, sent[4].id}
