"""`staging.stg_user_registrations`: staged events, SQL in `warehouse/sql/staging/`."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS, deps_of
from pipelines.resources import WarehouseResource


@dg.asset(
    group_name="staging",
    deps=deps_of("staging.stg_user_registrations"),
    kinds={"duckdb"},
    op_tags=WAREHOUSE_TAGS,
)
def stg_user_registrations(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Registered users (no e-mail: the warehouse keeps no contact data), one row per event id."""
    return warehouse.materialize(context, "staging.stg_user_registrations")


@dg.asset_check(asset=stg_user_registrations, blocking=True, op_tags=WAREHOUSE_TAGS)
def stg_user_registrations_quality(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Great Expectations suite of `staging.stg_user_registrations` (see warehouse/quality.py)."""
    return warehouse.check("staging.stg_user_registrations")
