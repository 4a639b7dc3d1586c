"""The lake writer process over a real Redis: every stream, batches, ack after durable write,
nothing lost or duplicated in effect across a crash."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import redis as redis_lib

from services.platform.events import Event, stream_for
from services.users.events import UserRegistered
from warehouse.ingest import GROUP, LakeIngest
from warehouse.lake import LakeWriter


def publish(redis_client: redis_lib.Redis, n: int, source: str = "users") -> list[Event]:
    events = [Event(type="user.registered", source=source,
                    data=UserRegistered(user_id=f"u{i}", email=f"u{i}@example.com").model_dump())
              for i in range(n)]
    for e in events:
        redis_client.xadd(stream_for(source), {"event": e.to_json()})
    return events


def lake_ids(root: Path) -> list[str]:
    files = list(root.rglob("*.parquet"))
    return pl.read_parquet(files)["event_id"].to_list() if files else []


def test_every_stream_lands_in_the_lake_and_is_acked(redis_client: redis_lib.Redis,
                                                      tmp_path: Path) -> None:
    first = publish(redis_client, 5, "users")
    ingest = LakeIngest(redis_client, LakeWriter(tmp_path), max_batch=100, max_age_s=0.05,
                        rescan_s=0)
    second = publish(redis_client, 3, "orders")  # a stream that appears later is followed too
    for _ in range(10):
        ingest.step(block_ms=20)
    ingest.flush()
    assert sorted(lake_ids(tmp_path)) == sorted(e.id for e in first + second)
    for source in ("users", "orders"):
        assert redis_client.xpending(stream_for(source), GROUP)["pending"] == 0


def test_a_crash_before_the_flush_loses_nothing_and_duplicates_nothing(
    redis_client: redis_lib.Redis, tmp_path: Path
) -> None:
    events = publish(redis_client, 20)
    crashed = LakeIngest(redis_client, LakeWriter(tmp_path), max_batch=10**6, max_age_s=60,
                         rescan_s=0)
    crashed.step(block_ms=20)  # read and buffered, then the process dies: nothing acked
    assert crashed.writer.pending == 20 and lake_ids(tmp_path) == []
    assert redis_client.xpending(stream_for("users"), GROUP)["pending"] == 20

    restarted = LakeIngest(redis_client, LakeWriter(tmp_path), max_batch=10**6, max_age_s=0.01,
                           rescan_s=0)
    restarted.consumer.retry_base_ms = 0  # redeliver the dead consumer's messages at once
    for _ in range(5):
        restarted.step(block_ms=20)
    restarted.flush()
    restarted.step(block_ms=20)  # a redelivery of the same messages again
    restarted.flush()
    ids = lake_ids(tmp_path)
    assert set(ids) == {e.id for e in events}
    assert len(ids) == len(set(ids))
    assert redis_client.xpending(stream_for("users"), GROUP)["pending"] == 0
