"""`staging.stg_searches`: staged events, SQL in `warehouse/sql/staging/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="staging", deps=deps_of("staging.stg_searches"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS
)
def stg_searches(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Search result pages, one row per event id. `query_normalized` (lower case, single spaces) is
    what search analytics group by, so "Red  Shoes" and "red shoes" count as one query."""
    return warehouse.materialize(context, "staging.stg_searches")


@dg.asset_check(asset=stg_searches, blocking=True, op_tags=WAREHOUSE_TAGS)
def stg_searches_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `staging.stg_searches` (see warehouse/quality.py)."""
    return warehouse.check("staging.stg_searches")
