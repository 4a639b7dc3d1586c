"""`marts.product_popularity`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="marts", deps=deps_of("marts.product_popularity"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS
)
def product_popularity(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Product popularity over the 30 days up to the newest data (not the wall clock, so rebuilding
    the same lake gives the same ranking). score = views + 3 x add-to-carts + 10 x units
    sold, the same interaction weights the recommenders use."""
    return warehouse.materialize(context, "marts.product_popularity")


@dg.asset_check(asset=product_popularity, blocking=True, op_tags=WAREHOUSE_TAGS)
def product_popularity_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.product_popularity` (see warehouse/quality.py)."""
    return warehouse.check("marts.product_popularity")
