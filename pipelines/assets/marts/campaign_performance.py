"""`marts.campaign_performance`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="marts", deps=deps_of("marts.campaign_performance"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS
)
def campaign_performance(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Effectiveness of each campaign: promo-code redemptions, orders and revenue attributed to it
    (orders carrying its id), AOV, and conversion of the sessions that landed from it, each
    against the baseline without any campaign (uplift = campaign / baseline - 1)."""
    return warehouse.materialize(context, "marts.campaign_performance")


@dg.asset_check(asset=campaign_performance, blocking=True, op_tags=WAREHOUSE_TAGS)
def campaign_performance_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.campaign_performance` (see warehouse/quality.py)."""
    return warehouse.check("marts.campaign_performance")
