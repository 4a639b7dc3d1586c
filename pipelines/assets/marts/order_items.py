"""`marts.order_items`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(group_name="marts", deps=deps_of("marts.order_items"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS)
def order_items(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per order line: line_total = quantity x unit price - the line's discount."""
    return warehouse.materialize(context, "marts.order_items")


@dg.asset_check(asset=order_items, blocking=True, op_tags=WAREHOUSE_TAGS)
def order_items_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.order_items` (see warehouse/quality.py)."""
    return warehouse.check("marts.order_items")
