"""Incremental refresh = full rebuild; snapshots are published atomically and readers follow."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from warehouse.build import Warehouse
from warehouse.lake import LakeWriter, compact_lake
from warehouse.models import load_models
from warehouse.reader import NoSnapshotError, WarehouseReader

MARTS = [m.name for m in load_models().values() if m.layer == "marts"]


def tables_equal(a: Path, b: Path, table: str) -> bool:
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        diff = con.sql(
            f"SELECT count(*) FROM ((SELECT * FROM a.marts.{table} EXCEPT ALL "
            f"SELECT * FROM b.marts.{table}) UNION ALL (SELECT * FROM b.marts.{table} "
            f"EXCEPT ALL SELECT * FROM a.marts.{table}))"
        ).fetchall()[0][0]
        return diff == 0
    finally:
        con.close()


def test_incremental_refresh_equals_full_rebuild(history, tmp_path: Path) -> None:
    main, late = history
    lake = tmp_path / "lake"
    writer = LakeWriter(lake)
    writer.add(main[:30])
    writer.flush()
    incremental = Warehouse(tmp_path / "inc", lake)
    first = incremental.refresh().by_model()
    assert first["staging.stg_orders"].mode == "full"

    writer.add(main[30:])
    writer.flush()
    incremental.refresh()
    writer.add(late)  # a late event for an old day: only that day is reloaded
    writer.flush()
    report = incremental.refresh().by_model()
    status = report["staging.stg_order_status_events"]
    assert status.mode == "incremental" and [d.isoformat() for d in status.days_loaded] == [
        "2024-02-11"]
    assert report["staging.stg_page_views"].mode == "unchanged"

    compact_lake(lake)
    after_compaction = incremental.refresh()

    full = Warehouse(tmp_path / "full", lake).refresh(full=True)
    assert after_compaction.snapshot and full.snapshot
    for table in MARTS:
        assert tables_equal(after_compaction.snapshot, full.snapshot, table), table
    reader = WarehouseReader(tmp_path / "inc")
    status = reader.query("SELECT status FROM marts.orders WHERE order_id = 'O5'")
    assert status["status"].to_list() == ["paid"]  # the late payment arrived
    reader.close()


def test_readers_follow_published_snapshots(history, tmp_path: Path) -> None:
    main, late = history
    lake = tmp_path / "lake"
    reader = WarehouseReader(tmp_path / "wh")
    with pytest.raises(NoSnapshotError):
        reader.refresh()
    writer = LakeWriter(lake)
    writer.add(main)
    writer.flush()
    warehouse = Warehouse(tmp_path / "wh", lake, snapshots_kept=2)
    warehouse.refresh()
    assert reader.refresh() is True
    first = reader.snapshot
    before = reader.query("SELECT status FROM marts.orders WHERE order_id = 'O5'")
    assert before["status"].to_list() == ["placed"]
    assert reader.refresh() is False  # nothing new

    # The builder publishes while the reader holds the old snapshot open read-only.
    other = WarehouseReader(tmp_path / "wh")
    other.refresh()
    writer.add(late)
    writer.flush()
    warehouse.refresh()
    after = reader.query("SELECT status FROM marts.orders WHERE order_id = 'O5'")
    assert reader.snapshot != first and after["status"].to_list() == ["paid"]
    # Pruning keeps the newest (publishing order, even within one second), the current one last.
    published = [warehouse.publish() for _ in range(4)]
    kept = sorted(p.name for p in (tmp_path / "wh" / "snapshots").glob("*.duckdb"))
    assert kept == [p.name for p in published[-2:]]
    assert warehouse.pointer_path.read_text().strip() == published[-1].name
    # A reader whose snapshot was pruned keeps working on its open file.
    assert other.cursor().sql("SELECT count(*) FROM marts.orders").fetchall()[0][0] == 5
    tables = reader.query("SELECT table_name FROM information_schema.tables "
                          "WHERE table_schema = 'marts'")["table_name"].to_list()
    assert sorted(tables) == sorted(MARTS)
    reader.close()
    other.close()
