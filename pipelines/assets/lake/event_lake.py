"""The Parquet event lake, written by the lake writer outside Dagster."""

import dagster as dg

event_lake = dg.AssetSpec(
    "event_lake",
    group_name="lake",
    description="Every event of every service as Parquet, partitioned "
    "`<event_type>/date=YYYY-MM-DD/`; filled continuously by the lake writer consumer.",
    kinds={"parquet"},
)
