"""Events the payments service publishes (source `payments`).

Money is integer minor units plus an ISO 4217 currency, never floats.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.platform.events import EventData, register

SOURCE = "payments"

PaymentMethod = Literal["card", "paypal", "bank_transfer", "cash_on_delivery"]
PAYMENT_METHODS: tuple[str, ...] = PaymentMethod.__args__


class PaymentEvent(EventData):
    payment_id: str
    order_id: str
    user_id: str
    amount_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    method: PaymentMethod


@register
class PaymentCaptured(PaymentEvent):
    event_type = "payment.captured"


@register
class PaymentFailed(PaymentEvent):
    event_type = "payment.failed"
    reason: str


@register
class PaymentRefunded(PaymentEvent):
    event_type = "payment.refunded"
