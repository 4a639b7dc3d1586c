"""`staging.stg_orders`: staged events, SQL in `warehouse/sql/staging/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(group_name="staging", deps=deps_of("staging.stg_orders"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS)
def stg_orders(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Placed orders (the price snapshot's header), one row per event id."""
    return warehouse.materialize(context, "staging.stg_orders")


@dg.asset_check(asset=stg_orders, blocking=True, op_tags=WAREHOUSE_TAGS)
def stg_orders_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `staging.stg_orders` (see warehouse/quality.py)."""
    return warehouse.check("staging.stg_orders")
