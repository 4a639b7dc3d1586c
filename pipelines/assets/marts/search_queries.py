"""`marts.search_queries`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(group_name="marts", deps=deps_of("marts.search_queries"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS)
def search_queries(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Search analytics per normalised query: volume, zero-result share and click-through. A query
    is a zero-result query when none of its searches found anything."""
    return warehouse.materialize(context, "marts.search_queries")


@dg.asset_check(asset=search_queries, blocking=True, op_tags=WAREHOUSE_TAGS)
def search_queries_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.search_queries` (see warehouse/quality.py)."""
    return warehouse.check("marts.search_queries")
