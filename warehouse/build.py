"""Build the warehouse: raw views over the lake -> staging -> marts, then publish a snapshot.

The working database (`<warehouse_dir>/work.duckdb`) is private to the builder, the only
process that opens it read-write. Readers never touch it: `publish()` copies the marts into a
new snapshot file and moves the `CURRENT` pointer to it with an atomic rename, and readers open
the current snapshot read-only (DuckDB allows one writer or many readers per file).

Staging is incremental by day partition: the runner remembers the files it loaded per
(model, event type, day) and reloads only the days whose files changed, which is also how late
events (written into an old day) and compactions are picked up. A full build recreates every
table from the whole lake; both give the same tables (tested).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.lake import PartitionFiles, list_partitions, open_lake
from warehouse.models import Model, load_models
from warehouse.schema import lake_schema, load_contracts, table_name
from warehouse.settings import WarehouseSettings

log = logging.getLogger(__name__)

POINTER = "CURRENT"
SNAPSHOT_DIR = "snapshots"

_META_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.loaded_partitions (
    model VARCHAR, event_type VARCHAR, day DATE, signature VARCHAR, loaded_at TIMESTAMP,
    PRIMARY KEY (model, event_type, day)
);
CREATE TABLE IF NOT EXISTS meta.model_runs (
    model VARCHAR, mode VARCHAR, days_loaded INTEGER, row_count BIGINT, seconds DOUBLE,
    finished_at TIMESTAMP
);
"""


@dataclass
class ModelResult:
    model: str
    mode: str
    """`full`, `incremental` or `unchanged`."""
    row_count: int
    days_loaded: list[date] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class BuildReport:
    results: list[ModelResult]
    snapshot: Path | None
    seconds: float

    def by_model(self) -> dict[str, ModelResult]:
        return {r.model: r for r in self.results}


def _sql_type(dtype: pa.DataType) -> str:
    if pa.types.is_list(dtype):
        return f"{_sql_type(dtype.value_type)}[]"
    if pa.types.is_timestamp(dtype):
        return "TIMESTAMPTZ" if dtype.tz else "TIMESTAMP"
    return {
        pa.string(): "VARCHAR",
        pa.int64(): "BIGINT",
        pa.int32(): "INTEGER",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.date32(): "DATE",
    }[dtype]


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Warehouse:
    """The builder of one warehouse directory over one lake."""

    def __init__(
        self,
        directory: str | Path | None = None,
        lake_root: str | Path | None = None,
        *,
        snapshots_kept: int | None = None,
    ):
        settings = WarehouseSettings()
        self.directory = Path(directory or settings.warehouse_dir)
        self.lake_root = str(lake_root or settings.lake_root)
        self.snapshots_kept = snapshots_kept or settings.snapshots_kept
        self.work_path = self.directory / "work.duckdb"
        load_contracts()

    # --- connections ----------------------------------------------------------------------

    @contextmanager
    def connect(self, *, lock_timeout: float = 300.0) -> Iterator[duckdb.DuckDBPyConnection]:
        """The working database, read-write; waits while another builder holds it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + lock_timeout
        while True:
            try:
                con = duckdb.connect(str(self.work_path))
                break
            except duckdb.IOException as exc:  # another process holds the write lock
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute(_META_DDL)
            yield con
        finally:
            con.close()

    # --- raw ------------------------------------------------------------------------------

    def create_raw_views(self, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """One view per event type: its lake files (all versions) united by column name with
        an empty row set of the registered schema, so a type with no file yet, or files that
        predate a new column, still expose every column the models read."""
        from services.platform.events import EVENT_TYPES

        _, base = open_lake(self.lake_root)
        present = {p.event_type for p in list_partitions(self.lake_root)}
        types = {t for t, _ in EVENT_TYPES} | present
        views: dict[str, str] = {}
        for event_type in sorted(types):
            versions = sorted(v for t, v in EVENT_TYPES if t == event_type) or [1]
            columns: dict[str, str] = {}
            for version in versions:
                for f in lake_schema(event_type, version):
                    columns.setdefault(f.name, _sql_type(f.type))
            columns["date"] = "DATE"
            empty = "SELECT " + ", ".join(
                f'CAST(NULL AS {t}) AS "{c}"' for c, t in columns.items()
            ) + " WHERE false"
            body = empty
            if event_type in present:
                glob = _sql_str(f"{base}/{event_type}/date=*/*.parquet")
                files = (
                    f"SELECT * FROM read_parquet({glob}, hive_partitioning = true, "
                    "union_by_name = true, hive_types = {'date': DATE})"
                )
                body = f"{files}\nUNION ALL BY NAME\n{empty}"
            name = table_name(event_type)
            con.execute(f"CREATE OR REPLACE VIEW raw.{name} AS {body}")
            views[name] = event_type
        return views

    # --- models ---------------------------------------------------------------------------

    def run_model(
        self,
        con: duckdb.DuckDBPyConnection,
        model: Model,
        *,
        full: bool = False,
        partitions: list[PartitionFiles] | None = None,
        raw_views: dict[str, str] | None = None,
    ) -> ModelResult:
        """(Re)build one model: staging by changed day partitions, marts in full."""
        started = time.perf_counter()
        if model.incremental:
            if raw_views is None:
                raw_views = self.create_raw_views(con)
            if partitions is None:
                partitions = list_partitions(self.lake_root)
            result = self._run_staging(con, model, full, partitions, raw_views)
        else:
            con.execute(f"CREATE OR REPLACE TABLE {model.key} AS {model.sql}")
            self._narrow_sums(con, model)
            result = ModelResult(model.key, "full", self._count(con, model.key))
        result.seconds = time.perf_counter() - started
        con.execute(
            "INSERT INTO meta.model_runs VALUES (?, ?, ?, ?, ?, ?)",
            [model.key, result.mode, len(result.days_loaded), result.row_count, result.seconds,
             datetime.now(UTC).replace(tzinfo=None)],
        )
        log.info("%s: %s, %d rows, %d days, %.2fs", model.key, result.mode, result.row_count,
                 len(result.days_loaded), result.seconds)
        return result

    def _run_staging(
        self,
        con: duckdb.DuckDBPyConnection,
        model: Model,
        full: bool,
        partitions: list[PartitionFiles],
        raw_views: dict[str, str],
    ) -> ModelResult:
        sources = {raw_views[name] for name in model.raw_sources if name in raw_views}
        current = {(p.event_type, p.day): p.signature for p in partitions
                   if p.event_type in sources}
        exists = self._exists(con, model.key)
        loaded = {
            (t, d): s
            for t, d, s in con.execute(
                "SELECT event_type, day, signature FROM meta.loaded_partitions WHERE model = ?",
                [model.key],
            ).fetchall()
        }
        if full or not exists:
            changed_days = sorted({d for _, d in current})
            mode = "full"
        else:
            changed = {k for k, s in current.items() if loaded.get(k) != s}
            changed |= loaded.keys() - current.keys()  # a partition that disappeared
            changed_days = sorted({d for _, d in changed})
            mode = "incremental" if changed_days else "unchanged"
        now = datetime.now(UTC).replace(tzinfo=None)
        con.execute("BEGIN TRANSACTION")
        try:
            if mode == "full":
                con.execute(
                    f"CREATE OR REPLACE TABLE {model.key} AS "
                    f"SELECT * FROM ({model.render('true')}) ORDER BY event_date"
                )
                con.execute("DELETE FROM meta.loaded_partitions WHERE model = ?", [model.key])
            elif mode == "incremental":
                days = ", ".join(f"DATE '{d.isoformat()}'" for d in changed_days)
                con.execute(f"DELETE FROM {model.key} WHERE event_date IN ({days})")
                con.execute(
                    f'INSERT INTO {model.key} BY NAME {model.render(f""""date" IN ({days})""")}'
                )
                con.execute(
                    "DELETE FROM meta.loaded_partitions WHERE model = ? AND day IN "
                    f"({days})",
                    [model.key],
                )
            if mode != "unchanged":
                day_set = set(changed_days)
                rows = [(model.key, t, d, s, now) for (t, d), s in current.items()
                        if d in day_set]
                if rows:
                    con.executemany(
                        "INSERT INTO meta.loaded_partitions VALUES (?, ?, ?, ?, ?)", rows
                    )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return ModelResult(model.key, mode, self._count(con, model.key), changed_days)

    @staticmethod
    def _narrow_sums(con: duckdb.DuckDBPyConnection, model: Model) -> None:
        """DuckDB widens sum(BIGINT) to HUGEINT; money and counts fit BIGINT, which every
        reader (pandas, polars, Arrow) handles as a plain integer rather than a decimal."""
        wide = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
            "AND table_name = ? AND data_type IN ('HUGEINT', 'DECIMAL(38,0)')",
            [model.layer, model.name],
        ).fetchall()
        for (column,) in wide:
            con.execute(f'ALTER TABLE {model.key} ALTER COLUMN "{column}" TYPE BIGINT')

    @staticmethod
    def _exists(con: duckdb.DuckDBPyConnection, key: str) -> bool:
        schema, name = key.split(".")
        return bool(
            con.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = ? AND table_name = ?",
                [schema, name],
            ).fetchall()[0][0]
        )

    @staticmethod
    def _count(con: duckdb.DuckDBPyConnection, key: str) -> int:
        return int(con.execute(f"SELECT count(*) FROM {key}").fetchall()[0][0])

    def refresh(
        self, *, full: bool = False, select: Iterable[str] | None = None, publish: bool = True
    ) -> BuildReport:
        """Run the selected models (default: all) in dependency order, then publish."""
        started = time.perf_counter()
        models = load_models()
        wanted = set(select) if select is not None else set(models)
        results = []
        with self.connect() as con:
            raw_views = self.create_raw_views(con)
            partitions = list_partitions(self.lake_root)
            for key, model in models.items():
                if key in wanted:
                    results.append(self.run_model(
                        con, model, full=full, partitions=partitions, raw_views=raw_views
                    ))
            snapshot = self._publish(con) if publish else None
        return BuildReport(results, snapshot, time.perf_counter() - started)

    # --- snapshots ------------------------------------------------------------------------

    @property
    def pointer_path(self) -> Path:
        return self.directory / POINTER

    def publish(self) -> Path:
        """Copy the marts into a new snapshot file and make it the current one."""
        with self.connect() as con:
            return self._publish(con)

    def _publish(self, con: duckdb.DuckDBPyConnection) -> Path:
        snapshots = self.directory / SNAPSHOT_DIR
        snapshots.mkdir(parents=True, exist_ok=True)
        # Microseconds: names sort in publishing order even for two refreshes in one second.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = snapshots / f"warehouse-{stamp}-{uuid.uuid4().hex[:6]}.duckdb"
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'marts' AND table_catalog = current_database() "
                "ORDER BY table_name"
            ).fetchall()
        ]
        con.execute(f"ATTACH {_sql_str(str(path))} AS snapshot")
        try:
            con.execute("CREATE SCHEMA snapshot.marts")
            for table in tables:
                con.execute(f"CREATE TABLE snapshot.marts.{table} AS SELECT * FROM marts.{table}")
            con.execute(
                "CREATE TABLE snapshot.main.build_info AS SELECT ? AS built_at, ? AS lake_root",
                [datetime.now(UTC).replace(tzinfo=None), self.lake_root],
            )
        finally:
            con.execute("DETACH snapshot")
        tmp = self.pointer_path.with_suffix(".tmp")
        tmp.write_text(path.name + "\n")
        os.replace(tmp, self.pointer_path)  # the atomic switch readers watch
        log.info("published snapshot %s (%d marts)", path.name, len(tables))
        self._prune_snapshots(keep=path)
        return path

    def _prune_snapshots(self, keep: Path) -> None:
        """Delete all but the newest `snapshots_kept` (never `keep`, the one just published);
        a reader still holding one keeps its open file (POSIX)."""
        files = sorted((self.directory / SNAPSHOT_DIR).glob("warehouse-*.duckdb"))
        older = [f for f in files if f != keep]
        for old in older[: max(0, len(older) - (self.snapshots_kept - 1))]:
            old.unlink(missing_ok=True)
            Path(f"{old}.wal").unlink(missing_ok=True)
