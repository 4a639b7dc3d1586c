"""The Dagster code location materialises in-process; blocking GX checks stop bad data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from pipelines import assets as assets_package
from pipelines import defs
from pipelines.jobs import new_lake_partitions
from pipelines.resources import RecommendationsResource, RedisResource, WarehouseResource
from services.platform.events import Event
from warehouse.lake import LakeWriter, list_partitions
from warehouse.simulate import simulate_bulk

ASSETS = dg.load_assets_from_package_module(assets_package, include_specs=True)
CHECKS = dg.load_asset_checks_from_package_module(assets_package)
REFRESH = dg.AssetSelection.groups("staging", "marts", "warehouse")
UNUSED_RESOURCES = {"reco": RecommendationsResource(), "redis": RedisResource()}
"""Needed by the recommendation assets (tests/pipelines/test_recommendations.py), never
initialised by the warehouse selections here."""


@pytest.fixture
def resource(tmp_path: Path) -> WarehouseResource:
    start = datetime.now(UTC).date() - timedelta(days=3)
    simulate_bulk(tmp_path / "lake", events=4000, seed=11, days=4, start=start)
    return WarehouseResource(lake_root=str(tmp_path / "lake"),
                             warehouse_dir=str(tmp_path / "warehouse"),
                             gx_dir=str(tmp_path / "gx"))


def run(resource: WarehouseResource, selection=REFRESH, **kw) -> dg.ExecuteInProcessResult:
    return dg.materialize([*ASSETS, *CHECKS], selection=selection,
                          resources={"warehouse": resource, **UNUSED_RESOURCES},
                          raise_on_error=False, **kw)


def test_definitions_load() -> None:
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.assets_defs_by_key}
    assert {"event_lake", "stg_orders", "orders", "rfm_segments", "warehouse_snapshot"} <= keys
    assert len(repo.asset_checks_defs_by_key) == 26
    assert {s.name for s in repo.schedule_defs} == {"hourly_warehouse_refresh",
                                                  "daily_lake_compaction",
                                                  "nightly_recommendations"}
    assert [s.name for s in repo.sensor_defs] == ["new_lake_partitions"]


def test_refresh_materialises_checks_and_publishes(resource: WarehouseResource) -> None:
    result = run(resource)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 26 and all(c.passed for c in checks)
    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    orders = mats["orders"].materialization.metadata
    assert orders["dagster/row_count"].value > 0 and "order_id" in orders["preview"].value
    assert "warehouse_snapshot" in mats
    assert (Path(resource.warehouse_dir) / "CURRENT").exists()
    assert (Path(resource.gx_dir) / "gx/uncommitted/data_docs/local_site/index.html").exists()

    # the hourly refresh afterwards finds nothing new in staging
    again = run(resource)
    assert again.success
    stg = [m for m in again.get_asset_materialization_events()
           if m.asset_key.to_user_string() == "stg_page_views"][0]
    assert stg.materialization.metadata["mode"].value == "unchanged"


def test_failed_check_blocks_downstream_and_says_why(resource: WarehouseResource) -> None:
    assert run(resource).success
    pointer = (Path(resource.warehouse_dir) / "CURRENT").read_text()
    bad = Event(type="payment.captured", source="payments", data={
        "payment_id": "PAYX", "order_id": "OX", "user_id": "UX", "amount_minor": 100,
        "currency": "EUR", "method": "bitcoin"})
    writer = LakeWriter(resource.lake_root)
    writer.add([bad])
    writer.flush()

    result = run(resource)
    assert not result.success
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert [c.asset_key.to_user_string() for c in failed] == ["stg_payments"]
    assert "bitcoin" in failed[0].description
    materialized = {m.asset_key.to_user_string()
                    for m in result.get_asset_materialization_events()}
    assert "stg_payments" in materialized
    assert "orders" not in materialized and "warehouse_snapshot" not in materialized
    assert (Path(resource.warehouse_dir) / "CURRENT").read_text() == pointer


def test_sensor_requests_a_refresh_for_new_partitions(resource: WarehouseResource) -> None:
    context = dg.build_sensor_context(resources={"warehouse": resource})
    first = new_lake_partitions(context)
    assert isinstance(first, dg.RunRequest)
    context = dg.build_sensor_context(cursor=context.cursor, resources={"warehouse": resource})
    assert isinstance(new_lake_partitions(context), dg.SkipReason)


def test_daily_compaction_partition(resource: WarehouseResource) -> None:
    day = [p.day for p in list_partitions(resource.lake_root) if p.event_type == "page_view"][0]
    writer = LakeWriter(resource.lake_root)
    writer.add([Event(type="page_view", source="analytics",
                      occurred_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
                      data={"session_id": "s", "anonymous_id": "a", "path": "/"})])
    writer.flush()
    before = [p for p in list_partitions(resource.lake_root)
              if p.day == day and p.event_type == "page_view"][0]
    assert len(before.files) == 2
    result = run(resource, selection=dg.AssetSelection.assets("compacted_lake"),
                 partition_key=day.isoformat())
    assert result.success
    after = [p for p in list_partitions(resource.lake_root)
             if p.day == day and p.event_type == "page_view"][0]
    assert len(after.files) == 1
