"""`staging.stg_order_status_events`: staged events, SQL in `warehouse/sql/staging/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="staging",
    deps=deps_of("staging.stg_order_status_events"),
    kinds={"duckdb"},
    op_tags=WAREHOUSE_TAGS,
)
def stg_order_status_events(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Everything that happens to an order after it was placed, as one typed stream of status
    changes (paid, cancelled, refunded, delivered), one row per event id."""
    return warehouse.materialize(context, "staging.stg_order_status_events")


@dg.asset_check(asset=stg_order_status_events, blocking=True, op_tags=WAREHOUSE_TAGS)
def stg_order_status_events_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `staging.stg_order_status_events` (see warehouse/quality.py)."""
    return warehouse.check("staging.stg_order_status_events")
