"""The published warehouse: what the analytics service and the dashboards read."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS
from pipelines.resources import WarehouseResource
from warehouse.models import load_models

MARTS = [dg.AssetKey(m.name) for m in load_models().values() if m.layer == "marts"]


@dg.asset(group_name="warehouse", deps=MARTS, kinds={"duckdb"}, op_tags=WAREHOUSE_TAGS)
def warehouse_snapshot(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """A read-only copy of every mart, published by an atomic pointer switch. Runs only after
    every mart passed its blocking checks, so readers never see a poisoned warehouse."""
    path = warehouse.builder().publish()
    context.log.info(f"published {path}")
    return dg.MaterializeResult(metadata={"snapshot": dg.MetadataValue.path(str(path))})
