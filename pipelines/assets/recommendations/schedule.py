"""The nightly retraining: the whole `recommendations` group, after the night's warehouse refresh."""

import dagster as dg

recommendations_job = dg.define_asset_job(
    "recommendations_job",
    selection=dg.AssetSelection.groups("recommendations"),
    description="Interactions -> candidates -> evaluation -> promotion gate -> Redis publication; "
                "personal offers; the search popularity signal.",
)

nightly_recommendations = dg.ScheduleDefinition(
    name="nightly_recommendations",
    job=recommendations_job,
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
)
