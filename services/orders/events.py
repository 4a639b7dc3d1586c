"""Events the orders service publishes about an order's life (source `orders`).

`order.placed` carries the full price snapshot (lines, discounts, totals) so the warehouse never
needs the orders database; the later events only move the order through its states.
Money is integer minor units plus an ISO 4217 currency, never floats.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.platform.events import EventData, register

SOURCE = "orders"


class OrderLine(BaseModel):
    """One line of the price snapshot; `discount_minor` is the line's share of all discounts."""

    model_config = ConfigDict(extra="forbid")
    sku: str
    product_id: str
    category: str | None = None
    quantity: int = Field(ge=1)
    unit_price_minor: int = Field(ge=0)
    discount_minor: int = Field(default=0, ge=0)


@register
class OrderPlaced(EventData):
    """`total_minor = subtotal_minor - discount_minor + shipping_minor`."""

    event_type = "order.placed"
    order_id: str
    user_id: str
    session_id: str | None = None
    lines: list[OrderLine] = Field(min_length=1)
    subtotal_minor: int = Field(ge=0)
    discount_minor: int = Field(default=0, ge=0)
    shipping_minor: int = Field(default=0, ge=0)
    total_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    promo_codes: list[str] = Field(default_factory=list)
    campaign_ids: list[str] = Field(default_factory=list)


@register
class OrderPaid(EventData):
    event_type = "order.paid"
    order_id: str
    user_id: str
    payment_id: str
    amount_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)


@register
class OrderCancelled(EventData):
    event_type = "order.cancelled"
    order_id: str
    user_id: str
    reason: str


@register
class OrderRefunded(EventData):
    """A (possibly partial) refund of a paid order."""

    event_type = "order.refunded"
    order_id: str
    user_id: str
    amount_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    reason: str | None = None


@register
class OrderDelivered(EventData):
    event_type = "order.delivered"
    order_id: str
    user_id: str
    carrier: str | None = None
    tracking_number: str | None = None


@register
class OrderStatusChanged(EventData):
    """Every move of the state machine (the specific events above say more about some)."""

    event_type = "order.status_changed"
    order_id: str
    user_id: str
    status: str
    previous_status: str | None = None
    reason: str | None = None
    tracking_number: str | None = None
    carrier: str | None = None


@register
class OrderReturnRequested(EventData):
    event_type = "order.return_requested"
    order_id: str
    user_id: str
    return_id: str
    amount_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    reason: str
