"""`marts.cohort_retention`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="marts", deps=deps_of("marts.cohort_retention"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS
)
def cohort_retention(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Monthly cohorts by first paid order: how many of a cohort's customers order again n months
    later, and what they spend."""
    return warehouse.materialize(context, "marts.cohort_retention")


@dg.asset_check(asset=cohort_retention, blocking=True, op_tags=WAREHOUSE_TAGS)
def cohort_retention_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.cohort_retention` (see warehouse/quality.py)."""
    return warehouse.check("marts.cohort_retention")
