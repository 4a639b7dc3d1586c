"""Events the payments service publishes (source `payments`).

Money is integer minor units plus an ISO 4217 currency, never floats.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.platform.events import EventData, register

SOURCE = "payments"

PaymentMethod = Literal["card", "paypal", "bank_transfer", "cash_on_delivery", "wallet", "crypto"]
"""The first four are the warehouse's historical mix (its simulator samples only those); the
sandbox processor takes `card`, `wallet` (the shop's e-wallet) and `crypto` (an invoice)."""
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


@register
class PaymentAuthorized(PaymentEvent):
    """Money is held (card authorisation, wallet hold) but not yet taken: only for payments
    made with `capture: false` (one captured at once emits `payment.captured` alone)."""

    event_type = "payment.authorized"


@register
class PaymentActionRequired(PaymentEvent):
    """The shopper must act: confirm a card (3-D Secure-like) or pay a crypto invoice."""

    event_type = "payment.action_required"
    action: Literal["confirm_card", "pay_invoice"]


@register
class PaymentVoided(PaymentEvent):
    """An authorisation released without capture (the held money goes back)."""

    event_type = "payment.voided"


@register
class WalletToppedUp(EventData):
    event_type = "wallet.topped_up"
    user_id: str
    amount_minor: int = Field(ge=1)
    balance_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
