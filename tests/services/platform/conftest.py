"""A throwaway service schema (one table + outbox + processed ids) for the plumbing tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from services.platform.db import Database
from services.platform.events import EventData, register
from services.platform.outbox import Outbox, outbox_table, processed_events_table

metadata = MetaData()
things = Table("things", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))
effects = Table("effects", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                Column("event_id", String(36)))
OUTBOX = outbox_table(metadata)
PROCESSED = processed_events_table(metadata)


@register
class ThingCreated(EventData):
    event_type = "test.thing_created"
    thing_id: int
    name: str


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, migrations=None, version_table="unused")  # type: ignore[arg-type]
    metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def outbox() -> Outbox:
    return Outbox(OUTBOX, source="testsvc")
