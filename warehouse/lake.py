"""The event lake: Parquet files at `<root>/<event_type>/date=YYYY-MM-DD/part-v<version>-*.parquet`.

Why it is safe to kill at any moment and to replay the bus into it:
- every file is written under a temporary name and renamed into place, so a reader (or a killed
  writer) never sees half a file; stray `*.tmp` files are ignored by readers and swept by
  `compact_partition`;
- rows are deduplicated by event id within a batch, a batch's file name is a hash of its ids (a
  re-delivered identical batch replaces its own file), and staging deduplicates across files,
  so at-least-once delivery becomes exactly-once in effect;
- the caller acknowledges bus messages only after `flush()` returned: events of a failed flush
  are delivered again.
Batching by size and age is the consumer loop's decision (`pending`, `oldest_pending_age`).
The root is a local path or any URI `pyarrow.fs` understands (`s3://bucket/lake`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from services.platform.events import EVENT_TYPES, Event
from warehouse.schema import (
    SENSITIVE_FIELDS,
    json_columns,
    lake_schema,
    load_contracts,
    temporal_columns,
)

log = logging.getLogger(__name__)

PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3}
"""zstd: about as fast as snappy to read in DuckDB and a third smaller."""


def open_lake(root: str | Path) -> tuple[pafs.FileSystem, str]:
    """(filesystem, base path) of a lake root given as a local path or a URI."""
    text = str(root)
    if "://" in text:
        return pafs.FileSystem.from_uri(text)
    path = Path(text).resolve()
    return pafs.LocalFileSystem(), path.as_posix()


def partition_dir(base: str, event_type: str, day: date) -> str:
    return f"{base}/{event_type}/date={day.isoformat()}"


def write_atomic(fs: pafs.FileSystem, table: pa.Table, path: str) -> int:
    """Write `table` to `path` via a temporary file and a rename; returns the bytes written."""
    directory = path.rsplit("/", 1)[0]
    fs.create_dir(directory, recursive=True)
    tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        pq.write_table(table, tmp, filesystem=fs, **PARQUET_OPTIONS)
        size = fs.get_file_info(tmp).size or 0
        fs.move(tmp, path)
    except BaseException:
        _delete_quietly(fs, tmp)
        raise
    return size


def _delete_quietly(fs: pafs.FileSystem, path: str) -> None:
    with contextlib.suppress(OSError):
        fs.delete_file(path)


def batch_file_name(version: int, event_ids: Iterable[str]) -> str:
    """Content-addressed name: the same set of events always maps to the same file."""
    digest = hashlib.sha256("\n".join(sorted(event_ids)).encode()).hexdigest()[:24]
    return f"part-v{version}-{digest}.parquet"


def write_partition(
    fs: pafs.FileSystem,
    base: str,
    event_type: str,
    version: int,
    day: date,
    table: pa.Table,
    *,
    name: str | None = None,
) -> tuple[str, int]:
    """Write one batch of one event type, version and day as one file; returns (path, bytes).

    The file name defaults to a hash of the batch's event ids (see `batch_file_name`).
    """
    if name is None:
        name = batch_file_name(version, table.column("event_id").to_pylist())
    path = f"{partition_dir(base, event_type, day)}/{name}"
    return path, write_atomic(fs, table, path)


@dataclass
class LakeStats:
    events_added: int = 0
    duplicates_dropped: int = 0
    events_written: int = 0
    files_written: int = 0
    bytes_written: int = 0
    flushes: int = 0
    failed_flushes: int = 0
    last_flush_seconds: float = 0.0


@dataclass
class _Bucket:
    """Pending rows of one (event type, version, day), keyed by event id for dedup."""

    rows: dict[str, dict] = field(default_factory=dict)


class LakeWriter:
    """Buffers events and writes them to the lake as one Parquet file per type, version and day.

    Typical consumer loop: read a batch from the bus, `add()` it, `flush()` when `pending` or
    `oldest_pending_age` passes a limit, then acknowledge everything added before the flush.
    """

    def __init__(self, root: str | Path, *, filesystem: pafs.FileSystem | None = None):
        load_contracts()  # every service's payload models, so each type gets its schema
        if filesystem is None:
            self.fs, self.base = open_lake(root)
        else:
            self.fs, self.base = filesystem, str(root)
        self.stats = LakeStats()
        self._buckets: dict[tuple[str, int, date], _Bucket] = {}
        self._pending = 0
        self._oldest: float | None = None

    @property
    def pending(self) -> int:
        """Events buffered and not yet written."""
        return self._pending

    @property
    def oldest_pending_age(self) -> float:
        """Seconds since the oldest buffered event was added (0 when empty)."""
        return 0.0 if self._oldest is None else time.monotonic() - self._oldest

    def add(self, events: Iterable[Event]) -> int:
        """Buffer events; an id already buffered is dropped. Returns how many were new."""
        added = 0
        for event in events:
            occurred = _as_utc(event.occurred_at)
            key = (event.type, event.version, occurred.date())
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket()
            if event.id in bucket.rows:
                self.stats.duplicates_dropped += 1
                continue
            bucket.rows[event.id] = _row(event, occurred)
            added += 1
        if added and self._oldest is None:
            self._oldest = time.monotonic()
        self._pending += added
        self.stats.events_added += added
        return added

    def flush(self) -> list[str]:
        """Write every pending bucket; returns the files written.

        A bucket leaves the buffer only once its file is in place, so if this raises, what was
        not written is still pending (and the caller, not having acknowledged, gets it again).
        """
        started = time.perf_counter()
        written: list[str] = []
        try:
            for key in sorted(self._buckets):
                event_type, version, day = key
                bucket = self._buckets[key]
                table = _to_arrow(event_type, version, list(bucket.rows.values()))
                path, size = write_partition(self.fs, self.base, event_type, version, day, table)
                written.append(path)
                del self._buckets[key]
                self._pending -= table.num_rows
                self.stats.events_written += table.num_rows
                self.stats.files_written += 1
                self.stats.bytes_written += size
        except BaseException:
            self.stats.failed_flushes += 1
            raise
        finally:
            if not self._buckets:
                self._oldest = None
        self.stats.flushes += 1
        self.stats.last_flush_seconds = time.perf_counter() - started
        if written:
            log.info("lake flush: %d files, %d events pending", len(written), self._pending)
        return written


def _as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the envelope's default is aware UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _row(event: Event, occurred: datetime) -> dict:
    row: dict = {}
    json_cols = json_columns(event.type, event.version)
    if (event.type, event.version) not in EVENT_TYPES:
        row["data"] = orjson.dumps(event.data).decode()
    else:
        for name, value in event.data.items():
            if name in SENSITIVE_FIELDS:
                continue
            row[name] = orjson.dumps(value).decode() if name in json_cols else value
        for name, kind in temporal_columns(event.type, event.version).items():
            value = row.get(name)
            if isinstance(value, str):
                row[name] = kind.fromisoformat(value)
    row["event_id"] = event.id
    row["event_type"] = event.type
    row["event_version"] = event.version
    row["occurred_at"] = occurred
    row["source"] = event.source
    row["subject"] = event.subject
    return row


def _to_arrow(event_type: str, version: int, rows: list[dict]) -> pa.Table:
    schema = lake_schema(event_type, version)
    now = datetime.now(UTC)
    for row in rows:
        row["ingested_at"] = now
    return pa.Table.from_pylist(rows, schema=schema)


# --- listing and compaction -------------------------------------------------------------------


@dataclass(frozen=True)
class PartitionFiles:
    event_type: str
    day: date
    files: tuple[str, ...]
    bytes: int
    last_modified: float
    """Newest file's modification time (epoch seconds): what changed since a cursor."""

    @property
    def signature(self) -> str:
        """Changes whenever a file is added, replaced or removed."""
        return hashlib.sha256("\n".join(sorted(self.files)).encode()).hexdigest()[:16] + (
            f"-{self.bytes}"
        )


def list_partitions(root: str | Path) -> list[PartitionFiles]:
    """Every (event type, day) partition of the lake with its finished Parquet files."""
    fs, base = open_lake(root)
    info = fs.get_file_info(base)
    if info.type == pafs.FileType.NotFound:
        return []
    groups: dict[tuple[str, date], list[pafs.FileInfo]] = {}
    for entry in fs.get_file_info(pafs.FileSelector(base, recursive=True)):
        if entry.type != pafs.FileType.File or not entry.path.endswith(".parquet"):
            continue
        parts = entry.path[len(base) :].strip("/").split("/")
        if len(parts) != 3 or not parts[1].startswith("date="):
            continue
        key = (parts[0], date.fromisoformat(parts[1][5:]))
        groups.setdefault(key, []).append(entry)
    return [
        PartitionFiles(
            event_type=event_type,
            day=day,
            files=tuple(sorted(e.path for e in entries)),
            bytes=sum(e.size or 0 for e in entries),
            last_modified=max(e.mtime.timestamp() if e.mtime else 0.0 for e in entries),
        )
        for (event_type, day), entries in sorted(groups.items())
    ]


def compact_partition(
    root: str | Path,
    event_type: str,
    day: date,
    *,
    min_files: int = 2,
    stale_tmp_seconds: int = 3600,
) -> int:
    """Merge the files of one partition into one file per version, keeping each event once.

    The merged file is in place before the old ones are deleted: a crash in between leaves
    duplicate rows across files, which staging drops and the next compaction merges away.
    Returns the number of files removed.
    """
    fs, base = open_lake(root)
    directory = partition_dir(base, event_type, day)
    if fs.get_file_info(directory).type == pafs.FileType.NotFound:
        return 0
    entries = fs.get_file_info(pafs.FileSelector(directory))
    _sweep_tmp(fs, entries, stale_tmp_seconds)
    by_version: dict[str, list[str]] = {}
    for entry in entries:
        name = entry.path.rsplit("/", 1)[-1]
        if entry.type == pafs.FileType.File and name.endswith(".parquet"):
            version = name.split("-")[1] if name.startswith("part-v") else "v1"
            by_version.setdefault(version, []).append(entry.path)
    removed = 0
    for version, paths in sorted(by_version.items()):
        if len(paths) < min_files:
            continue
        tables = [pq.read_table(p, filesystem=fs) for p in sorted(paths)]
        merged = pa.concat_tables(tables, promote_options="permissive")
        merged = _dedup_first_ingested(merged)
        target = f"{directory}/{batch_file_name(int(version[1:]), merged['event_id'].to_pylist())}"
        write_atomic(fs, merged, target)
        for path in paths:
            if path != target:
                fs.delete_file(path)
                removed += 1
    if removed:
        log.info("compacted %s %s: %d files merged", event_type, day, removed)
    return removed


def compact_lake(root: str | Path, *, min_files: int = 2) -> dict[str, int]:
    """Compact every partition with at least `min_files` files; returns files removed by type."""
    removed: dict[str, int] = {}
    for part in list_partitions(root):
        if len(part.files) >= min_files:
            n = compact_partition(root, part.event_type, part.day, min_files=min_files)
            removed[part.event_type] = removed.get(part.event_type, 0) + n
    return removed


def _dedup_first_ingested(table: pa.Table) -> pa.Table:
    """Keep one row per event id: the first one written."""
    frame = pl.from_arrow(table).sort("ingested_at", maintain_order=True)
    return frame.unique("event_id", keep="first", maintain_order=True).to_arrow().cast(table.schema)


def _sweep_tmp(fs: pafs.FileSystem, entries: list[pafs.FileInfo], older_than: int) -> None:
    """Delete temporary files a killed writer left behind (old enough not to be in flight)."""
    now = time.time()
    for entry in entries:
        age = now - entry.mtime.timestamp() if entry.mtime else 0.0
        if entry.path.endswith(".tmp") and age > older_than:
            _delete_quietly(fs, entry.path)
