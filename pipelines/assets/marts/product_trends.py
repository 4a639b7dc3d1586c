"""`marts.product_trends`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(group_name="marts", deps=deps_of("marts.product_trends"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS)
def product_trends(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Rising products: the last 7 days up to the newest data against the 7 days before, with the
    popularity score's weights. growth = (recent + 1) / (prior + 1) damps tiny numbers; a
    product is rising when recent >= 10 and recent >= 2 x prior."""
    return warehouse.materialize(context, "marts.product_trends")


@dg.asset_check(asset=product_trends, blocking=True, op_tags=WAREHOUSE_TAGS)
def product_trends_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.product_trends` (see warehouse/quality.py)."""
    return warehouse.check("marts.product_trends")
