"""The lake writer process: every event stream -> Parquet lake, in batches.

It follows every `shop:events:*` stream (new streams are picked up as services start
publishing) in its own consumer group, hands events to `LakeWriter`, flushes when the batch is
big or old enough, and acknowledges messages only after their batch file is durable. A killed
writer therefore loses nothing: unacknowledged messages are redelivered, and duplicates vanish
(content-addressed batch files, dedup by event id in staging).
"""

from __future__ import annotations

import threading
import time

import structlog
from redis import Redis

from services.platform.consumer import AlwaysRun, Consumer
from services.platform.events import STREAM_PREFIX, Event
from warehouse.lake import LakeWriter

log = structlog.get_logger("lake-writer")
GROUP = "lake-writer"


def event_streams(redis: Redis) -> list[str]:
    return sorted(k.decode() for k in redis.scan_iter(match=f"{STREAM_PREFIX}*", _type="STREAM"))


class LakeIngest:
    def __init__(self, redis: Redis, writer: LakeWriter, *, max_batch: int = 5000,
                 max_age_s: float = 5.0, rescan_s: float = 10.0):
        self.redis = redis
        self.writer = writer
        self.max_batch = max_batch
        self.max_age_s = max_age_s
        self.rescan_s = rescan_s
        # Redelivery of unacked messages must wait longer than a batch can stay in memory.
        self.consumer = Consumer(redis, group=GROUP, streams=event_streams(redis),
                                 handler=self._add, idempotency=AlwaysRun(), defer_ack=True,
                                 batch=1000, retry_base_ms=int(max_age_s * 1000 * 6))
        self._last_scan = time.monotonic()

    def _add(self, event: Event, _session: object) -> None:
        self.writer.add([event])

    def step(self, block_ms: int = 500) -> int:
        """Read once, flush if due; return the number of events written by this step."""
        if time.monotonic() - self._last_scan > self.rescan_s:
            new = self.consumer.add_streams(event_streams(self.redis))
            if new:
                log.info("following_streams", new=new)
            self._last_scan = time.monotonic()
        if self.consumer.streams:
            self.consumer.poll_once(block_ms=block_ms)
        else:
            time.sleep(block_ms / 1000)
        if self.writer.pending >= self.max_batch or (
            self.writer.pending and self.writer.oldest_pending_age >= self.max_age_s
        ):
            return self.flush()
        return 0

    def flush(self) -> int:
        pending = self.writer.pending
        files = self.writer.flush()
        acked = self.consumer.ack_handled()
        log.info("lake_flushed", events=pending, files=len(files), acked=acked)
        return pending

    def run(self, stop: threading.Event) -> None:
        log.info("lake_writer_started", streams=self.consumer.streams)
        while not stop.is_set():
            try:
                self.step()
            except Exception:
                log.exception("lake_writer_step_failed")
                time.sleep(1.0)
        if self.writer.pending:
            self.flush()
