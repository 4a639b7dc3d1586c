"""Daily compaction of the lake: one file per event type and version for each day."""

import dagster as dg

from pipelines.assets.lake.event_lake import event_lake
from pipelines.resources import WarehouseResource

LAKE_START = "2024-01-01"
daily = dg.DailyPartitionsDefinition(start_date=LAKE_START, end_offset=0)


@dg.asset(group_name="lake", deps=[event_lake], partitions_def=daily, kinds={"parquet"})
def compacted_lake(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The day's lake partitions merged into one file per event type (rows kept once), so
    readers open few files; the next warehouse refresh reloads the merged days unchanged."""
    from datetime import date

    from warehouse.lake import compact_partition, list_partitions

    day = date.fromisoformat(context.partition_key)
    removed, types = 0, 0
    for part in list_partitions(warehouse.lake_root):
        if part.day == day:
            types += 1
            removed += compact_partition(warehouse.lake_root, part.event_type, day)
    context.log.info(f"{day}: {removed} files merged away in {types} event types")
    return dg.MaterializeResult(metadata={"files_removed": removed, "event_types": types})
