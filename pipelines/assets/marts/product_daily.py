"""`marts.product_daily`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(group_name="marts", deps=deps_of("marts.product_daily"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS)
def product_daily(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Activity of each product per day: views, add-to-carts, and units and revenue of paid orders
    (by order day). The base of popularity and trends."""
    return warehouse.materialize(context, "marts.product_daily")


@dg.asset_check(asset=product_daily, blocking=True, op_tags=WAREHOUSE_TAGS)
def product_daily_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.product_daily` (see warehouse/quality.py)."""
    return warehouse.check("marts.product_daily")
