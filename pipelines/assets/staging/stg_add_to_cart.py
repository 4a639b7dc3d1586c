"""`staging.stg_add_to_cart`: staged events, SQL in `warehouse/sql/staging/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="staging", deps=deps_of("staging.stg_add_to_cart"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS
)
def stg_add_to_cart(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Add-to-cart clicks from the storefront (the funnel's cart step), one row per event id."""
    return warehouse.materialize(context, "staging.stg_add_to_cart")


@dg.asset_check(asset=stg_add_to_cart, blocking=True, op_tags=WAREHOUSE_TAGS)
def stg_add_to_cart_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `staging.stg_add_to_cart` (see warehouse/quality.py)."""
    return warehouse.check("staging.stg_add_to_cart")
