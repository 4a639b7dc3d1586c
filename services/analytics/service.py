"""Use cases of the analytics service: take behaviour events in, answer reports."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import polars as pl
from redis import Redis

from services.analytics import domain
from services.analytics.events import SOURCE
from services.analytics.settings import AnalyticsSettings
from services.analytics.store import REPORTS, Filters, run_report
from services.platform.errors import InvalidInput, NotFound, Unavailable
from services.platform.events import stream_for
from services.platform.outbox import STREAM_MAXLEN
from warehouse.reader import NoSnapshotError, WarehouseReader


class Intake:
    """Validates a batch as a whole (all or nothing) and appends it to the analytics stream in
    one Redis transaction; the lake writer takes it from there."""

    def __init__(self, redis: Redis, settings: AnalyticsSettings):
        self.redis = redis
        self.settings = settings
        self.stream = stream_for(SOURCE)

    def accept(self, raw_events: list[dict], *, user_id: str | None) -> int:
        if len(raw_events) > self.settings.max_batch:
            raise InvalidInput(f"At most {self.settings.max_batch} events per batch.",
                               slug="batch-too-large")
        now = datetime.now(UTC)
        skew = timedelta(seconds=self.settings.max_clock_skew_s)
        events, errors = [], []
        for index, raw in enumerate(raw_events):
            try:
                events.append(domain.to_event(raw, user_id=user_id, now=now, max_skew=skew))
            except ValueError as exc:
                errors.append({"field": f"events.{index}", "message": str(exc)})
        if errors:
            raise InvalidInput(f"{len(errors)} of {len(raw_events)} events are invalid; none were "
                               "accepted.", slug="invalid-events", errors=errors[:50])
        pipe = self.redis.pipeline(transaction=True)
        for event in events:
            pipe.xadd(self.stream, {"event": event.to_json()}, maxlen=STREAM_MAXLEN, approximate=True)
        pipe.execute()
        return len(events)


class Reports:
    def __init__(self, reader: WarehouseReader, settings: AnalyticsSettings):
        self.reader = reader
        self.settings = settings

    def frame(self, name: str, filters: Filters) -> pl.DataFrame:
        if name not in REPORTS:
            raise NotFound(f"No report {name!r}; reports: {', '.join(sorted(REPORTS))}.")
        if filters.start and filters.end and filters.start > filters.end:
            raise InvalidInput("start must not be after end.", slug="validation-error")
        try:
            return run_report(self.reader, name, filters, self.settings.max_report_rows)
        except NoSnapshotError as exc:
            raise Unavailable("The warehouse has not been built yet (run the Dagster warehouse job "
                              "or `shop warehouse build`).", slug="warehouse-not-built") from exc

    @staticmethod
    def to_csv(frame: pl.DataFrame) -> str:
        buffer = io.StringIO()
        frame.with_columns(pl.col(pl.List(pl.Utf8)).list.join("|")).write_csv(buffer)
        return buffer.getvalue()
