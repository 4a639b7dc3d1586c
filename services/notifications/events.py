"""Events the notifications service consumes (it publishes none).

Each consumed type is read through a *view*: a pydantic model of only the fields we use, ignoring
the rest (a tolerant reader), so producers may add fields without breaking us and no service
imports another's modules. A payload that does not fit its view is dead-lettered with the
validation error as the reason.

Streams are subscribed by name even before their producer exists (delivery's stream, for one):
the consumer group is created on an empty stream and picks events up once they flow.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.platform.events import stream_for

GROUP = "notifications"
STREAMS = [stream_for(s) for s in ("users", "orders", "payments", "delivery", "inventory",
                                   "recommendations")]


class View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class UserRegistered(View):
    user_id: str
    email: str
    full_name: str | None = None
    locale: str = "en"
    marketing_opt_in: bool = False


class OneTimeLink(View):
    """`user.email_verification_requested` and `user.password_reset_requested`."""

    user_id: str
    email: str
    token: str = Field(min_length=16)
    expires_at: datetime
    locale: str = "en"


class PasswordChanged(View):
    user_id: str
    via: str


class EmailVerified(View):
    user_id: str
    email: str


class OrderLine(View):
    sku: str
    quantity: int
    unit_price_minor: int


class OrderPlaced(View):
    order_id: str
    user_id: str
    lines: list[OrderLine] = Field(min_length=1)
    total_minor: int
    currency: str


class OrderPaid(View):
    order_id: str
    user_id: str
    amount_minor: int
    currency: str


class OrderCancelled(View):
    order_id: str
    user_id: str
    reason: str


class OrderRefunded(View):
    order_id: str
    user_id: str
    amount_minor: int
    currency: str
    reason: str | None = None


class OrderDelivered(View):
    order_id: str
    user_id: str
    carrier: str | None = None
    tracking_number: str | None = None


class PaymentFailed(View):
    order_id: str
    user_id: str
    amount_minor: int
    currency: str
    reason: str


class ShipmentCreated(View):
    """`shipment.created` from the delivery service (contract expected by this view: the
    delivery service is a later issue; `tracking_url` is optional, we fall back to the order)."""

    order_id: str
    user_id: str
    carrier: str | None = None
    tracking_number: str
    tracking_url: str | None = None


class BackInStock(View):
    sku: str
    user_id: str
    product_id: str | None = None
    available: int


class OfferGranted(View):
    """`recommendation.offer_granted`: a personal offer the cart applies by itself (no code)."""

    user_id: str
    kind: str
    percent_bp: int | None = None
    amount_minor: int | None = None
    currency: str | None = None
    ends_at: datetime
