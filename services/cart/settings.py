"""Settings of the cart service (env prefix `CART_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.platform.settings import ServiceSettings


class CartSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CART_", extra="ignore")

    service_name: str = "cart"
    port: int = 8003
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    guest_idle_ttl_s: int = 7 * 24 * 3600
    """A guest cart untouched this long disappears."""
    user_cart_ttl_s: int = 180 * 24 * 3600
    abandon_after_s: int = 3600
    """A cart with items idle this long is announced as `cart.abandoned` (once per idle spell)."""
    per_item_limit: int = Field(10, ge=1, le=999)
    max_lines: int = 100
    shipping_fee_minor: int = 499
    """Standard delivery fee shown in the cart; the orders service replaces it with the quote."""
    snapshot_ttl_s: int = 3600
    """How long the orders service has to accept a checkout snapshot."""
    price_cache_ttl_s: float = 5.0
    """Catalog prices are re-read at most this long after they were fetched."""
    sweep_interval_s: float = 30.0
    catalog_url: str | None = None
    inventory_url: str | None = None
    catalog_port: int = Field(8002, validation_alias="CATALOG_PORT")
    inventory_port: int = Field(8006, validation_alias="INVENTORY_PORT")

    @property
    def effective_catalog_url(self) -> str:
        return self.catalog_url or f"http://127.0.0.1:{self.catalog_port}"

    @property
    def effective_inventory_url(self) -> str:
        return self.inventory_url or f"http://127.0.0.1:{self.inventory_port}"
