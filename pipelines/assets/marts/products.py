"""`marts.products`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(group_name="marts", deps=deps_of("marts.products"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS)
def products(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Latest state of every product the catalog announced (type 1: history is in staging). A
    deleted product stays, flagged, with its last known state, so old orders still join."""
    return warehouse.materialize(context, "marts.products")


@dg.asset_check(asset=products, blocking=True, op_tags=WAREHOUSE_TAGS)
def products_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.products` (see warehouse/quality.py)."""
    return warehouse.check("marts.products")
