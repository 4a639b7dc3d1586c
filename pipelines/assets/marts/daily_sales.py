"""`marts.daily_sales`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(group_name="marts", deps=deps_of("marts.daily_sales"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS)
def daily_sales(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Sales per order day and currency. Revenue counts paid orders; refunds are charged to the
    order's day (so a day's net figure settles as refunds arrive). A new customer is one
    whose first paid order is on that day."""
    return warehouse.materialize(context, "marts.daily_sales")


@dg.asset_check(asset=daily_sales, blocking=True, op_tags=WAREHOUSE_TAGS)
def daily_sales_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.daily_sales` (see warehouse/quality.py)."""
    return warehouse.check("marts.daily_sales")
