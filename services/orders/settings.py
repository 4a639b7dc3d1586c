"""Settings of the orders service (env prefix `ORDERS_`)."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.platform.settings import DEV_SECRET, DatabaseSettings

DEV_SERVICE_PASSWORD = "orders service dev password, change me"  # noqa: S105 - refused in production


class OrdersSettings(DatabaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore")

    service_name: str = "orders"
    port: int = 8004
    users_port: int = Field(8001, validation_alias="USERS_PORT")
    cart_port: int = Field(8003, validation_alias="CART_PORT")
    payments_port: int = Field(8005, validation_alias="PAYMENTS_PORT")
    inventory_port: int = Field(8006, validation_alias="INVENTORY_PORT")
    delivery_port: int = Field(8007, validation_alias="DELIVERY_PORT")
    users_url: str | None = None
    cart_url: str | None = None
    payments_url: str | None = None
    inventory_url: str | None = None
    delivery_url: str | None = None

    service_email: str = "orders-service@shop.internal"
    """The orders service's own account (an admin) for calls it makes on a shopper's behalf,
    also when no shopper is around (a saga resumed after a restart)."""
    service_password: str = DEV_SERVICE_PASSWORD
    payments_webhook_secret: str = DEV_SECRET
    """Verifies the payments service's webhooks (`PAYMENTS_WEBHOOK_SECRET` there)."""

    call_timeout_s: float = 5.0
    saga_lease_s: float = 15.0
    """A saga is worked on by one process at a time; a lease not renewed this long (a killed
    process) lets another take over."""
    saga_poll_s: float = 0.5
    """How often the saga worker looks for due sagas."""
    saga_retry_base_s: float = 0.5
    saga_retry_max_s: float = 30.0
    saga_max_attempts: int = 6
    """Transient failures of one step before a step that can still be undone is compensated."""
    payment_deadline_s: int = 20 * 60
    """How long an order waits for an extra payment step (card confirmation, crypto) before it
    is cancelled; below the inventory reservation's lifetime."""
    reservation_ttl_s: int = 30 * 60
    saga_step_delay_s: float = 0.0
    """Slow motion for demos and fault drills: a pause before each saga step."""
    saga_worker: bool = True
    """Run the saga worker inside the service process (resumes in-flight sagas at start)."""

    @model_validator(mode="after")
    def _refuse_dev_credentials(self) -> OrdersSettings:
        if self.env == "production" and (self.service_password == DEV_SERVICE_PASSWORD
                                         or self.payments_webhook_secret == DEV_SECRET):
            raise ValueError("orders: set ORDERS_SERVICE_PASSWORD and ORDERS_PAYMENTS_WEBHOOK_SECRET")
        return self

    def url(self, service: str) -> str:
        explicit = getattr(self, f"{service}_url")
        return (explicit or f"http://127.0.0.1:{getattr(self, f'{service}_port')}").rstrip("/")
