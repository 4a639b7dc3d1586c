"""`marts.discount_effectiveness`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="marts", deps=deps_of("marts.discount_effectiveness"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS
)
def discount_effectiveness(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Discounts on and off: orders with a promo code against orders without (AOV, discount,
    items), and sessions where a promo code was applied against the rest (conversion). Two
    rows."""
    return warehouse.materialize(context, "marts.discount_effectiveness")


@dg.asset_check(asset=discount_effectiveness, blocking=True, op_tags=WAREHOUSE_TAGS)
def discount_effectiveness_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.discount_effectiveness` (see warehouse/quality.py)."""
    return warehouse.check("marts.discount_effectiveness")
