"""Read the published warehouse: the current snapshot, read-only, switching to a new one.

The builder publishes a snapshot by renaming the `CURRENT` pointer; a reader checks the pointer
(one small file read) before handing out a connection and reopens when it moved. Many reader
processes (the analytics service, the dashboards) can do this at once: each snapshot file is
only ever opened read-only once published.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import polars as pl

from warehouse.build import POINTER, SNAPSHOT_DIR
from warehouse.settings import WarehouseSettings


class NoSnapshotError(RuntimeError):
    """No warehouse has been published yet (run `shop warehouse build`)."""


class WarehouseReader:
    """Thread-safe holder of a read-only connection to the current snapshot."""

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory or WarehouseSettings().warehouse_dir)
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._snapshot: str | None = None

    def current_snapshot(self) -> Path | None:
        """The snapshot the pointer names now (None before the first build)."""
        try:
            name = (self.directory / POINTER).read_text().strip()
        except FileNotFoundError:
            return None
        return self.directory / SNAPSHOT_DIR / name if name else None

    @property
    def snapshot(self) -> str | None:
        """Name of the snapshot this reader has open."""
        return self._snapshot

    def refresh(self) -> bool:
        """Open the current snapshot if it is not the one open; True when it switched."""
        path = self.current_snapshot()
        if path is None:
            raise NoSnapshotError(f"no warehouse snapshot published in {self.directory}")
        with self._lock:
            if self._snapshot == path.name and self._con is not None:
                return False
            con = duckdb.connect(str(path), read_only=True)
            con.execute("SET TimeZone = 'UTC'")
            old, self._con, self._snapshot = self._con, con, path.name
        if old is not None:
            old.close()
        return True

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the current snapshot (one per thread or request; cheap)."""
        self.refresh()
        assert self._con is not None
        return self._con.cursor()

    def query(self, sql: str, params: list | None = None) -> pl.DataFrame:
        """Run a query on the current snapshot; returns a polars DataFrame."""
        return self.cursor().sql(sql, params=params or None).pl()

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
            self._con, self._snapshot = None, None

    def __enter__(self) -> WarehouseReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
