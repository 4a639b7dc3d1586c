"""`marts.rfm_segments`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(group_name="marts", deps=deps_of("marts.rfm_segments"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS)
def rfm_segments(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """RFM segments of customers with a paid order, as of the day after the newest order (not the
    wall clock, so a rebuild gives the same segments). Each score is 1..5 from the percent
    rank (ties share a score; 5 = most recent / most frequent / highest spend)."""
    return warehouse.materialize(context, "marts.rfm_segments")


@dg.asset_check(asset=rfm_segments, blocking=True, op_tags=WAREHOUSE_TAGS)
def rfm_segments_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.rfm_segments` (see warehouse/quality.py)."""
    return warehouse.check("marts.rfm_segments")
