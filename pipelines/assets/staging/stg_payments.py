"""`staging.stg_payments`: staged events, SQL in `warehouse/sql/staging/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="staging", deps=deps_of("staging.stg_payments"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS
)
def stg_payments(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Payment outcomes (captured, failed, refunded) with their method, one row per event id."""
    return warehouse.materialize(context, "staging.stg_payments")


@dg.asset_check(asset=stg_payments, blocking=True, op_tags=WAREHOUSE_TAGS)
def stg_payments_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `staging.stg_payments` (see warehouse/quality.py)."""
    return warehouse.check("staging.stg_payments")
