"""SQL database per service: SQLAlchemy 2 engine + sessions, Alembic migrations.

SQLite (the embedded default) runs in WAL mode with a busy timeout so an outbox relay in another
process can read while the service writes; PostgreSQL is used when the service's
`<PREFIX>DATABASE_URL` is set. Each service keeps its Alembic history in its own
`migrations/` folder and its own version table. Give each service a database of its own on
PostgreSQL too: they all have tables of the same names (`outbox`, `processed_events`), so a
second service migrating into a shared database fails on them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Select, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

READONLY = "shop_readonly"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy own transactions (BEGIN IMMEDIATE below) instead of pysqlite.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # IMMEDIATE takes the write lock up front: read-then-write transactions never fail
            # half way with SQLITE_BUSY, they wait their turn (busy_timeout) instead. Read-only
            # units of work (`Database.read()`) take a plain snapshot and never block writers.
            readonly = conn.get_execution_options().get(READONLY, False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


def insert_or_ignore(session: Session, table: Any, rows: Sequence[dict[str, Any]] | dict[str, Any],
                     *, conflict_on: list[str] | None = None) -> None:
    """`INSERT ... ON CONFLICT [(conflict_on)] DO NOTHING` in the session's dialect (PostgreSQL
    or SQLite): for rows that concurrent writers or redelivered events may both insert."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(table).values(rows).on_conflict_do_nothing(index_elements=conflict_on))


class Database:
    """Engine, session factory and migrations of one service."""

    def __init__(self, url: str, *, migrations: Path, version_table: str, echo: bool = False):
        self.url = url
        self.engine = make_engine(url, echo=echo)
        # SQLite has one writer at a time, and a writer that finds the lock taken sleeps in the
        # busy handler with a growing backoff (up to 100 ms a try) however soon the lock frees.
        # Queueing this process's writers on a lock wakes the next one at once instead; other
        # processes (an outbox relay) still meet the busy handler, rarely.
        self._writers = threading.RLock() if url.startswith("sqlite") else None
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.migrations = migrations
        self.version_table = version_table

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        with self._writers or nullcontext(), self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (on SQLite it does not take the write lock)."""
        with self.sessions() as session:
            session.connection(execution_options={READONLY: True})
            yield session  # closing returns the connection, which ends the transaction

    def migrate(self, revision: str = "head") -> None:
        command.upgrade(self.alembic_config(), revision)

    def alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(self.migrations))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["version_table"] = self.version_table
        cfg.attributes["engine"] = self.engine
        return cfg

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


class Probe:
    """A cheap "is there anything to do?" for pollers that ask it many times a second all day
    (outbox relays, the webhook sender): one indexed statement, compiled once, on a read-only
    connection kept for it, ~80 us a call. An idle relay's poll went through a session before:
    with the probe first, an idle relay costs 13 instead of 18 ms of CPU a second (the rest is
    waking up 20 times a second)."""

    def __init__(self, db: Database, query: Select[Any]):
        self.db, self.query = db, query.limit(1)
        self._conn: Connection | None = None

    def __call__(self, **params: Any) -> bool:
        if self._conn is None:
            self._conn = self.db.engine.connect().execution_options(**{READONLY: True})
        try:
            with self._conn.begin():
                return self._conn.execute(self.query, params).first() is not None
        except Exception:
            self.close()  # a broken connection is not kept: the next call opens a new one
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
