"""Settings of the recommendations service (env prefix `RECOMMENDATIONS_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.platform.settings import ServiceSettings


class RecommendationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RECOMMENDATIONS_", extra="ignore")

    service_name: str = "recommendations"
    port: int = 8010
    default_limit: int = 10
    pointer_check_s: float = 1.0
    """How often the published-version pointer is re-read (a new nightly publication shows up
    within this delay; in between, requests cost no extra round trip)."""
    consume_events: bool = True
    """Follow stock, catalog and order events in a background thread (out-of-stock and
    already-bought filters between two nightly publications)."""
