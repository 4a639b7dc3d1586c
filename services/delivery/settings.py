"""Settings of the delivery service (env prefix `DELIVERY_`)."""

from __future__ import annotations

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from services.platform.settings import DEV_SECRET, DatabaseSettings


class DeliverySettings(DatabaseSettings):
    model_config = SettingsConfigDict(env_prefix="DELIVERY_", extra="ignore")

    service_name: str = "delivery"
    port: int = 8007
    origin_country: str = "DE"
    """Where parcels leave from: decides each destination's zone."""
    quote_ttl_s: int = 30 * 60
    carrier_webhook_secret: str = DEV_SECRET
    """Each carrier signs with `<secret>:<carrier code>` (one secret per carrier in effect)."""
    simulator_step_s: float = 20.0
    """The demo carrier moves each shipment one step per this many seconds."""

    @model_validator(mode="after")
    def _refuse_default_carrier_secret(self) -> DeliverySettings:
        if self.env == "production" and self.carrier_webhook_secret == DEV_SECRET:
            raise ValueError("delivery: set DELIVERY_CARRIER_WEBHOOK_SECRET")
        return self

    def carrier_secret(self, carrier: str) -> str:
        return f"{self.carrier_webhook_secret}:{carrier}"
