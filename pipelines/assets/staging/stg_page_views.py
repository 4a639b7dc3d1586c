"""`staging.stg_page_views`: staged events, SQL in `warehouse/sql/staging/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="staging", deps=deps_of("staging.stg_page_views"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS
)
def stg_page_views(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Page views, one row per event id; campaign_id is the landing campaign (utm_campaign)."""
    return warehouse.materialize(context, "staging.stg_page_views")


@dg.asset_check(asset=stg_page_views, blocking=True, op_tags=WAREHOUSE_TAGS)
def stg_page_views_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `staging.stg_page_views` (see warehouse/quality.py)."""
    return warehouse.check("staging.stg_page_views")
