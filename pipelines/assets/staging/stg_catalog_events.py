"""`staging.stg_catalog_events`: staged events, SQL in `warehouse/sql/staging/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="staging", deps=deps_of("staging.stg_catalog_events"), kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS
)
def stg_catalog_events(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Catalog changes; created/updated carry the full product state, deleted only the ids. One row
    per event id."""
    return warehouse.materialize(context, "staging.stg_catalog_events")


@dg.asset_check(asset=stg_catalog_events, blocking=True, op_tags=WAREHOUSE_TAGS)
def stg_catalog_events_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `staging.stg_catalog_events` (see warehouse/quality.py)."""
    return warehouse.check("staging.stg_catalog_events")
