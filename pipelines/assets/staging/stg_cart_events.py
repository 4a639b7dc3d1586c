"""`staging.stg_cart_events`: staged events, SQL in `warehouse/sql/staging/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="staging", deps=deps_of("staging.stg_cart_events"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS
)
def stg_cart_events(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Cart service events as one stream: `kind` is item_added, checked_out, promo_code_applied or
    abandoned; columns a kind does not have are NULL. One row per event id."""
    return warehouse.materialize(context, "staging.stg_cart_events")


@dg.asset_check(asset=stg_cart_events, blocking=True, op_tags=WAREHOUSE_TAGS)
def stg_cart_events_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `staging.stg_cart_events` (see warehouse/quality.py)."""
    return warehouse.check("staging.stg_cart_events")
