"""Lake writer: partitioning, atomic files, dedup, exactly-once in effect across a kill."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.local import LocalFileSystem

from services.platform.events import Event
from warehouse.build import Warehouse
from warehouse.lake import LakeWriter, compact_lake, list_partitions


class Killed(RuntimeError):
    """Stands for the writer process dying in the middle of a flush."""


class DyingFileSystem(LocalFileSystem):
    """A local filesystem whose rename fails after `renames_left` successful ones."""

    def __init__(self, renames_left: int):
        super().__init__()
        self.renames_left = renames_left

    def mv(self, path1, path2, **kwargs):
        if self.renames_left <= 0:
            raise Killed("killed during flush")
        self.renames_left -= 1
        return super().mv(path1, path2, **kwargs)


def raw_count(root: Path, event_type: str = "*") -> int:
    glob = f"{root}/{event_type}/date=*/*.parquet"
    return duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}', union_by_name=true)").fetchall()[0][0]


def staging_counts(warehouse: Path) -> dict[str, int]:
    con = duckdb.connect(str(warehouse / "work.duckdb"), read_only=True)
    try:
        rows = con.sql(
            "SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = 'staging'"
        ).fetchall()
        return {t: con.sql(f"SELECT count(*) FROM staging.{t}").fetchall()[0][0] for t, _ in rows}
    finally:
        con.close()


def test_partitions_by_type_and_day_with_typed_columns(history, lake_root: Path) -> None:
    main, _ = history
    writer = LakeWriter(lake_root)
    assert writer.add(main) == len(main)
    files = writer.flush()
    parts = {(p.event_type, p.day.isoformat()) for p in list_partitions(lake_root)}
    assert ("order.placed", "2024-01-05") in parts and ("page_view", "2024-02-10") in parts
    assert all(Path(f).name.startswith("part-v1-") for f in files)
    table = pq.read_table(next(f for f in files if "/order.placed/date=2024-01-05/" in f))
    assert table.column("total_minor").to_pylist() == [12500]
    assert table.column("campaign_ids").to_pylist() == [["C1"]]
    assert '"product_id":"P1"' in table.column("lines")[0].as_py()  # nested -> JSON text
    assert writer.pending == 0 and writer.stats.events_written == len(main)


def test_duplicates_in_a_batch_are_written_once(history, lake_root: Path) -> None:
    main, _ = history
    writer = LakeWriter(lake_root)
    writer.add(main)
    assert writer.add(main[:10]) == 0
    writer.flush()
    assert writer.stats.duplicates_dropped == 10
    assert raw_count(lake_root) == len(main)


def test_secret_fields_never_reach_the_lake_and_unknown_types_are_kept(lake_root: Path) -> None:
    from services.users.events import PasswordResetRequested

    secret = Event(type="user.password_reset_requested", source="users",
                   data=PasswordResetRequested(user_id="U1", email="a@b.c", token="t0ps3cret",
                                               expires_at="2030-01-01T00:00:00Z")
                   .model_dump(mode="json"))
    unknown = Event(type="test.unregistered", source="tests", data={"sku": "S1", "n": 2})
    writer = LakeWriter(lake_root)
    writer.add([secret, unknown])
    writer.flush()
    reset = pq.read_table(next((lake_root / "user.password_reset_requested").rglob("*.parquet")))
    assert "token" not in reset.column_names
    assert "t0ps3cret" not in str(reset.to_pylist())
    other = pq.read_table(next((lake_root / "test.unregistered").rglob("*.parquet")))
    assert other.column("data").to_pylist() == ['{"sku":"S1","n":2}']


def test_exactly_once_in_effect_across_a_kill_and_redelivery(
    history, lake_root: Path, warehouse_dir: Path
) -> None:
    main, late = history
    # The writer dies after two of its files are in place; nothing was acknowledged.
    dying = LakeWriter(str(lake_root), filesystem=pafs.PyFileSystem(
        pafs.FSSpecHandler(DyingFileSystem(renames_left=2))))
    dying.add(main)
    with pytest.raises(Killed):
        dying.flush()
    assert dying.pending > 0 and dying.stats.failed_flushes == 1
    assert len([f for p in list_partitions(lake_root) for f in p.files]) == 2
    # No half-written file is visible: every .parquet file present reads completely.
    for part in list_partitions(lake_root):
        for f in part.files:
            pq.read_table(f)

    # A new process gets everything again (re-delivery), plus part of it once more in a
    # different batch, so the lake really holds duplicate rows across files.
    restarted = LakeWriter(lake_root)
    restarted.add(main)
    restarted.flush()
    restarted.add(main[10:30] + late)
    restarted.flush()
    # Buckets identical to a written one replace their own file (content-addressed names);
    # the others are real duplicate rows that only staging can remove.
    assert raw_count(lake_root) > len(main) + len(late)

    Warehouse(warehouse_dir, lake_root).refresh(publish=False)
    counts = staging_counts(warehouse_dir)
    expected_orders = sum(1 for e in main if e.type == "order.placed")
    assert counts["stg_orders"] == expected_orders == 5
    assert counts["stg_page_views"] == sum(1 for e in main if e.type == "page_view")
    status_events = {"order.paid", "order.cancelled", "order.refunded", "order.delivered"}
    assert counts["stg_order_status_events"] == sum(
        1 for e in main + late if e.type in status_events)


def test_compaction_merges_files_and_keeps_rows_once(history, lake_root: Path) -> None:
    main, late = history
    writer = LakeWriter(lake_root)
    for i in range(0, len(main), 7):  # many small flushes -> many small files
        writer.add(main[i : i + 7])
        writer.flush()
    writer.add(main[:14] + late)  # and a re-delivery
    writer.flush()
    before = {(p.event_type, p.day): len(p.files) for p in list_partitions(lake_root)}
    assert max(before.values()) > 1
    removed = compact_lake(lake_root)
    assert sum(removed.values()) > 0
    after = {(p.event_type, p.day): len(p.files) for p in list_partitions(lake_root)}
    assert set(after.values()) == {1}
    assert raw_count(lake_root) == len(main) + len(late)
    assert compact_lake(lake_root) == {}  # idempotent


def test_flush_reports_pending_and_age(history, lake_root: Path) -> None:
    main, _ = history
    writer = LakeWriter(lake_root)
    assert writer.oldest_pending_age == 0.0
    writer.add(main[:5])
    assert writer.pending == 5 and writer.oldest_pending_age >= 0.0
    writer.flush()
    assert writer.pending == 0 and writer.oldest_pending_age == 0.0
    assert writer.flush() == []
