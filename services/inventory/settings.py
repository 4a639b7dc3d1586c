"""Settings of the inventory service (env prefix `INVENTORY_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.platform.settings import DatabaseSettings


class InventorySettings(DatabaseSettings):
    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore")

    service_name: str = "inventory"
    port: int = 8006
    reservation_ttl_s: int = 15 * 60
    """How long stock stays held for an unpaid order unless the request asks otherwise."""
    max_reservation_ttl_s: int = 24 * 3600
    default_low_stock_threshold: int = 5
    sweep_interval_s: float = 5.0
    sweep_batch: int = 200
