"""The Dagster code location of the platform (`dagster dev -m pipelines`).

Laid out like Dagster's fully-featured example: one file per data product under
`assets/<group>/` (function name = asset name, docstring = description), resources as
classes under stable keys, checks beside the asset they guard. Warehouse steps all open one
DuckDB working file, which allows a single writer, so the default executor runs a run's steps
in one process one after the other (it also imports Great Expectations once per run).
"""

from __future__ import annotations

import dagster as dg

from pipelines import assets
from pipelines.assets.recommendations.schedule import nightly_recommendations, recommendations_job
from pipelines.jobs import (
    daily_lake_compaction,
    hourly_warehouse_refresh,
    lake_compaction_job,
    new_lake_partitions,
    warehouse_refresh_job,
)
from pipelines.resources import RecommendationsResource, RedisResource, WarehouseResource

defs = dg.Definitions(
    assets=dg.load_assets_from_package_module(assets, include_specs=True),
    asset_checks=dg.load_asset_checks_from_package_module(assets),
    jobs=[warehouse_refresh_job, lake_compaction_job, recommendations_job],
    schedules=[hourly_warehouse_refresh, daily_lake_compaction, nightly_recommendations],
    sensors=[new_lake_partitions],
    resources={"warehouse": WarehouseResource(), "reco": RecommendationsResource(),
               "redis": RedisResource()},
    executor=dg.in_process_executor,
)
