"""Events the inventory service publishes (source `inventory`); it consumes none yet.

Availability is published as `inventory.stock_changed` (totals over all warehouses after the
change) so the catalog and search show in-stock status without a call per product. Reservation
events carry the order id, the key every reservation operation is idempotent by.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.platform.events import EventData, register

SOURCE = "inventory"


class ReservedLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str
    quantity: int = Field(ge=1)
    warehouse: str | None = None


class Shortage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str
    requested: int = Field(ge=1)
    available: int = Field(ge=0)


@register
class Reserved(EventData):
    event_type = "inventory.reserved"
    order_id: str
    user_id: str | None = None
    lines: list[ReservedLine] = Field(min_length=1)
    expires_at: datetime


@register
class ReservationFailed(EventData):
    event_type = "inventory.reservation_failed"
    order_id: str
    user_id: str | None = None
    reason: str
    shortages: list[Shortage] = Field(default_factory=list)


@register
class Committed(EventData):
    event_type = "inventory.committed"
    order_id: str
    lines: list[ReservedLine] = Field(min_length=1)


@register
class Released(EventData):
    event_type = "inventory.released"
    order_id: str
    lines: list[ReservedLine] = Field(min_length=1)
    reason: str | None = None


@register
class ReservationExpired(EventData):
    event_type = "inventory.reservation_expired"
    order_id: str
    lines: list[ReservedLine] = Field(min_length=1)
    expired_at: datetime


@register
class StockChanged(EventData):
    """The SKU's totals after the change; `cause` is adjustment, reserved, committed, released
    or expired."""

    event_type = "inventory.stock_changed"
    sku: str
    on_hand: int = Field(ge=0)
    reserved: int = Field(ge=0)
    available: int = Field(ge=0)
    in_stock: bool
    cause: str


@register
class LowStock(EventData):
    """Available stock fell to or below the SKU's threshold (sent on the crossing only)."""

    event_type = "inventory.low_stock"
    sku: str
    available: int = Field(ge=0)
    threshold: int = Field(ge=0)


@register
class BackInStock(EventData):
    """One per subscriber, when an out-of-stock SKU becomes available again."""

    event_type = "inventory.back_in_stock"
    sku: str
    user_id: str
    product_id: str | None = None
    available: int = Field(ge=1)
