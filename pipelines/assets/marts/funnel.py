"""`marts.funnel`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(group_name="marts", deps=deps_of("marts.funnel"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS)
def funnel(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Daily session funnel view -> cart -> checkout -> paid. Strict: a session counts at a step
    only if it also reached every earlier step, so each step is <= the one before it."""
    return warehouse.materialize(context, "marts.funnel")


@dg.asset_check(asset=funnel, blocking=True, op_tags=WAREHOUSE_TAGS)
def funnel_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.funnel` (see warehouse/quality.py)."""
    return warehouse.check("marts.funnel")
