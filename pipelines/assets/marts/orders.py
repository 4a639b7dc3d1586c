"""`marts.orders`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(group_name="marts", deps=deps_of("marts.orders"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS)
def orders(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per placed order with its lifecycle. Status precedence: refunded (in full) >
    partially_refunded > cancelled > delivered > paid > placed, so late or out-of-order
    events cannot move an order backwards. net_revenue = total - refunds, and only for paid
    orders."""
    return warehouse.materialize(context, "marts.orders")


@dg.asset_check(asset=orders, blocking=True, op_tags=WAREHOUSE_TAGS)
def orders_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.orders` (see warehouse/quality.py)."""
    return warehouse.check("marts.orders")
