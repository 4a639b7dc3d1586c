"""`marts.customers`: mart, SQL in `warehouse/sql/marts/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(group_name="marts", deps=deps_of("marts.customers"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS)
def customers(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per known user (registered or ordered). Orders and revenue count paid orders only;
    the cohort is the month of the first paid order. Money assumes one reporting currency."""
    return warehouse.materialize(context, "marts.customers")


@dg.asset_check(asset=customers, blocking=True, op_tags=WAREHOUSE_TAGS)
def customers_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `marts.customers` (see warehouse/quality.py)."""
    return warehouse.check("marts.customers")
