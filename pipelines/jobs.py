"""Jobs, schedules and sensors of the warehouse.

The refresh job runs staging -> marts -> snapshot with every blocking check in between; it
is incremental by itself (staging reloads only changed day partitions), so the same job serves
the hourly schedule and the new-partition sensor.
"""

import hashlib
import json

import dagster as dg

from pipelines.assets.lake.compacted_lake import compacted_lake
from pipelines.resources import WarehouseResource

warehouse_refresh_job = dg.define_asset_job(
    "warehouse_refresh_job",
    selection=dg.AssetSelection.groups("staging", "marts", "warehouse"),
    description="Reload changed lake days into staging, rebuild the marts, check, publish.",
)

lake_compaction_job = dg.define_asset_job(
    "lake_compaction_job",
    selection=dg.AssetSelection.assets(compacted_lake),
    description="Merge the small files of one lake day.",
)

hourly_warehouse_refresh = dg.ScheduleDefinition(
    name="hourly_warehouse_refresh",
    job=warehouse_refresh_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
)

daily_lake_compaction = dg.build_schedule_from_partitioned_job(
    lake_compaction_job, hour_of_day=1, minute_of_hour=30, name="daily_lake_compaction"
)


@dg.sensor(job=warehouse_refresh_job, minimum_interval_seconds=300)
def new_lake_partitions(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    """Refresh the warehouse when a lake day partition appears (a new day, or late events
    landing in an old one); the cursor remembers the partitions already seen."""
    from warehouse.lake import list_partitions

    seen = set(json.loads(context.cursor)) if context.cursor else set()
    current = {f"{p.event_type}/{p.day.isoformat()}" for p in list_partitions(warehouse.lake_root)}
    new = sorted(current - seen)
    if not new:
        return dg.SkipReason("no new lake partitions")
    context.update_cursor(json.dumps(sorted(current)))
    run_key = hashlib.sha256("\n".join(new).encode()).hexdigest()[:16]
    return dg.RunRequest(run_key=run_key, tags={"new_partitions": str(len(new))})
