"""`marts.sessions`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(group_name="marts", deps=deps_of("marts.sessions"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS)
def sessions(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per storefront session. Identity stitching: a session without a login takes the user
    last seen logged in on the same device (anonymous_id), so pre-login browsing counts for
    the customer. Checkouts and revenue come from orders that carry the session id."""
    return warehouse.materialize(context, "marts.sessions")


@dg.asset_check(asset=sessions, blocking=True, op_tags=WAREHOUSE_TAGS)
def sessions_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.sessions` (see warehouse/quality.py)."""
    return warehouse.check("marts.sessions")
