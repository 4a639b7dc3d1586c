"""Settings of the analytics service (env prefix `ANALYTICS_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.platform.settings import ServiceSettings


class AnalyticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore")

    service_name: str = "analytics"
    port: int = 8009
    max_batch: int = 500
    max_clock_skew_s: int = 300
    """A client clock this far in the future is refused; older events are fine (late events)."""
    max_report_rows: int = 10_000
