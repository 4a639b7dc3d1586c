"""Settings of the payments service (env prefix `PAYMENTS_`)."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.platform.settings import DEV_SECRET, DatabaseSettings


class PaymentsSettings(DatabaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENTS_", extra="ignore")

    service_name: str = "payments"
    port: int = 8005
    orders_port: int = Field(8004, validation_alias="ORDERS_PORT")
    orders_webhook_url: str | None = None
    """Where payment outcomes are POSTed (signed); default: the orders service on `ORDERS_PORT`."""
    webhook_secret: str = DEV_SECRET
    """Shared with the orders service (`ORDERS_PAYMENTS_WEBHOOK_SECRET`)."""
    chain_secret: str = DEV_SECRET
    """Signs the (simulated) blockchain watcher's confirmation calls."""
    webhook_max_attempts: int = 10
    webhook_base_delay_s: float = 1.0
    webhook_timeout_s: float = 5.0
    idempotency_wait_s: float = 10.0
    """How long a request waits for a concurrent request with the same key to finish."""
    idempotency_stale_s: float = 60.0
    """An in-progress key older than this belonged to a crashed request and may be retaken."""
    crypto_invoice_ttl_s: int = 15 * 60
    crypto_confirmations: int = 2
    default_currency: str = "EUR"

    @model_validator(mode="after")
    def _refuse_default_webhook_secrets(self) -> PaymentsSettings:
        if self.env == "production" and DEV_SECRET in (self.webhook_secret, self.chain_secret):
            raise ValueError("payments: set PAYMENTS_WEBHOOK_SECRET and PAYMENTS_CHAIN_SECRET")
        return self

    @property
    def effective_orders_webhook_url(self) -> str:
        return self.orders_webhook_url or (
            f"http://127.0.0.1:{self.orders_port}/api/orders/webhooks/payments")
