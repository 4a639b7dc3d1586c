"""Great Expectations suites pass on good data and fail, saying why, on planted bad data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.platform.events import Event
from warehouse.build import Warehouse
from warehouse.lake import LakeWriter
from warehouse.quality import SUITES, validate


@pytest.fixture
def built(history, tmp_path: Path) -> Warehouse:
    main, late = history
    writer = LakeWriter(tmp_path / "lake")
    writer.add(main + late)
    writer.flush()
    warehouse = Warehouse(tmp_path / "wh", tmp_path / "lake")
    warehouse.refresh(publish=False)
    return warehouse


def plant(warehouse: Warehouse, *events: Event) -> None:
    writer = LakeWriter(warehouse.lake_root)
    writer.add(events)
    writer.flush()
    warehouse.refresh(publish=False)


def check(warehouse: Warehouse, table: str, tmp_path: Path, **kw):
    with warehouse.connect() as con:
        return validate(con, table, gx_dir=tmp_path / "gx", **kw)


def test_every_suite_passes_on_the_good_history(built: Warehouse, tmp_path: Path) -> None:
    with built.connect() as con:
        results = [validate(con, table, gx_dir=tmp_path / "gx") for table in SUITES]
    assert [r.table for r in results if not r.success] == []
    assert all(r.evaluated > 0 for r in results)
    assert results[-1].docs_index is not None and results[-1].docs_index.exists()


def test_unknown_product_breaks_referential_integrity(built: Warehouse, tmp_path: Path) -> None:
    plant(built, Event(type="order.placed", source="orders", data={
        "order_id": "O9", "user_id": "U1", "lines": [{"sku": "S9", "product_id": "P999",
        "quantity": 1, "unit_price_minor": 100, "discount_minor": 0}],
        "subtotal_minor": 100, "total_minor": 100, "currency": "EUR"}))
    result = check(built, "marts.order_items", tmp_path)
    assert not result.success
    assert any("product_id" in f and "P999" in f for f in result.failures)


def test_duplicate_order_and_bad_accepted_value(built: Warehouse, tmp_path: Path) -> None:
    plant(
        built,
        Event(type="order.placed", source="orders", data={  # same order id, another event
            "order_id": "O1", "user_id": "U1", "lines": [{"sku": "S1", "product_id": "P1",
            "quantity": 1, "unit_price_minor": 100}], "subtotal_minor": 100,
            "total_minor": 100, "currency": "eur"}),
        Event(type="payment.failed", source="payments", data={
            "payment_id": "PAYZ", "order_id": "O1", "user_id": "U1", "amount_minor": 1,
            "currency": "EUR", "method": "cheque", "reason": "x"}),
    )
    orders = check(built, "staging.stg_orders", tmp_path)
    assert not orders.success and any("order_id" in f and "O1" in f for f in orders.failures)
    payments = check(built, "staging.stg_payments", tmp_path)
    assert not payments.success and any("cheque" in f for f in payments.failures)


def test_stale_lake_fails_freshness(built: Warehouse, tmp_path: Path) -> None:
    later = datetime.now(UTC) + timedelta(days=3)
    result = check(built, "staging.stg_page_views", tmp_path, now=later)
    assert not result.success
    assert any("expect_column_max_to_be_between" in f for f in result.failures)


def test_row_count_drop_fails(built: Warehouse, tmp_path: Path) -> None:
    with built.connect() as con:
        con.execute("DELETE FROM staging.stg_page_views WHERE session_id <> 'A1'")
        con.execute("INSERT INTO meta.model_runs VALUES ('staging.stg_page_views', 'full', 0, "
                    "1, 0.0, now()::TIMESTAMP + INTERVAL 1 HOUR)")
        result = validate(con, "staging.stg_page_views", gx_dir=tmp_path / "gx")
    assert not result.success
    assert any("row_count" in f for f in result.failures)
