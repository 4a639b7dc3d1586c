"""`staging.stg_order_lines`: staged events, SQL in `warehouse/sql/staging/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="staging", deps=deps_of("staging.stg_order_lines"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS
)
def stg_order_lines(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Order lines unnested from `order.placed` (stored as JSON in the lake), numbered from 1."""
    return warehouse.materialize(context, "staging.stg_order_lines")


@dg.asset_check(asset=stg_order_lines, blocking=True, op_tags=WAREHOUSE_TAGS)
def stg_order_lines_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `staging.stg_order_lines` (see warehouse/quality.py)."""
    return warehouse.check("staging.stg_order_lines")
