"""What each consumed event means for notifying: a fact about a recipient, or a message to
send (template + parameters). Pure: the service carries the intents out.

A payload that does not fit its view raises `pydantic.ValidationError` (the caller dead-letters
it); an event type we do not care about gives None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from services.notifications import events as ev


@dataclass(frozen=True)
class RecipientFacts:
    """Contact facts from the users stream, kept in the service's own projection."""

    user_id: str
    email: str
    full_name: str | None = None
    locale: str | None = None
    marketing_opt_in: bool | None = None


@dataclass(frozen=True)
class Notify:
    template: str
    user_id: str
    params: dict[str, Any] = field(default_factory=dict)
    email: str | None = None
    """Address carried by the event itself (verification goes to the address being verified)."""
    locale: str | None = None


Intent = RecipientFacts | Notify
Builder = Callable[[dict[str, Any], str], Intent | list[Intent]]


def _registered(data: dict[str, Any], _base: str) -> Intent:
    v = ev.UserRegistered.model_validate(data)
    return RecipientFacts(v.user_id, v.email, v.full_name, v.locale, v.marketing_opt_in)


def _link(template: str, path: str) -> Builder:
    def build(data: dict[str, Any], base: str) -> list[Intent]:
        v = ev.OneTimeLink.model_validate(data)
        link = f"{base}{path}?token={quote(v.token)}"
        return [RecipientFacts(v.user_id, v.email, locale=v.locale),
                Notify(template, v.user_id, {"link": link, "expires_at": v.expires_at.isoformat()},
                       email=v.email, locale=v.locale)]
    return build


def _verified(data: dict[str, Any], _base: str) -> Intent:
    v = ev.EmailVerified.model_validate(data)
    return RecipientFacts(v.user_id, v.email)


def _password_changed(data: dict[str, Any], base: str) -> Intent:
    v = ev.PasswordChanged.model_validate(data)
    return Notify("password_changed", v.user_id, {"via": v.via, "link": f"{base}/account"})


def _order_link(base: str, order_id: str) -> str:
    return f"{base}/orders/{quote(order_id, safe='')}"


def _order_placed(data: dict[str, Any], base: str) -> Intent:
    v = ev.OrderPlaced.model_validate(data)
    return Notify("order_placed", v.user_id, {
        "order_id": v.order_id, "total_minor": v.total_minor, "currency": v.currency,
        "items": sum(line.quantity for line in v.lines), "link": _order_link(base, v.order_id)})


def _money_event(template: str, model: type[ev.OrderPaid] | type[ev.OrderRefunded]
                 | type[ev.PaymentFailed]) -> Builder:
    def build(data: dict[str, Any], base: str) -> Intent:
        v = model.model_validate(data)
        return Notify(template, v.user_id, {
            "order_id": v.order_id, "amount_minor": v.amount_minor, "currency": v.currency,
            "reason": getattr(v, "reason", None), "link": _order_link(base, v.order_id)})
    return build


def _cancelled(data: dict[str, Any], base: str) -> Intent:
    v = ev.OrderCancelled.model_validate(data)
    return Notify("order_cancelled", v.user_id, {"order_id": v.order_id, "reason": v.reason,
                                                 "link": _order_link(base, v.order_id)})


def _delivered(data: dict[str, Any], base: str) -> Intent:
    v = ev.OrderDelivered.model_validate(data)
    return Notify("order_delivered", v.user_id, {"order_id": v.order_id,
                                                 "link": _order_link(base, v.order_id)})


def _shipped(data: dict[str, Any], base: str) -> Intent:
    v = ev.ShipmentCreated.model_validate(data)
    tracking = v.tracking_url or f"{_order_link(base, v.order_id)}/tracking"
    return Notify("order_shipped", v.user_id, {
        "order_id": v.order_id, "carrier": v.carrier, "tracking_number": v.tracking_number,
        "link": tracking})


def _back_in_stock(data: dict[str, Any], base: str) -> Intent:
    v = ev.BackInStock.model_validate(data)
    target = f"/products/{quote(v.product_id, safe='')}" if v.product_id else \
        f"/search?q={quote(v.sku)}"
    return Notify("back_in_stock", v.user_id, {"sku": v.sku, "available": v.available,
                                               "link": base + target})


def _offer(data: dict[str, Any], base: str) -> Intent:
    v = ev.OfferGranted.model_validate(data)
    if v.kind == "percent" and v.percent_bp:
        discount = f"{v.percent_bp // 100}%" if v.percent_bp % 100 == 0 else f"{v.percent_bp / 100}%"
    else:
        amount = v.amount_minor or 0
        discount = f"{amount // 100}.{amount % 100:02d} {v.currency or ''}".strip()
    return Notify("personal_offer", v.user_id, {"code": "", "discount": discount,
                                                "link": f"{base}/cart"})


BUILDERS: dict[str, Builder] = {
    "user.registered": _registered,
    "user.email_verification_requested": _link("verify_email", "/verify-email"),
    "user.password_reset_requested": _link("password_reset", "/reset-password"),
    "user.email_verified": _verified,
    "user.password_changed": _password_changed,
    "order.placed": _order_placed,
    "order.paid": _money_event("order_paid", ev.OrderPaid),
    "order.cancelled": _cancelled,
    "order.refunded": _money_event("order_refunded", ev.OrderRefunded),
    "order.delivered": _delivered,
    "payment.failed": _money_event("payment_failed", ev.PaymentFailed),
    "shipment.created": _shipped,
    "inventory.back_in_stock": _back_in_stock,
    "recommendation.offer_granted": _offer,
}
HANDLED_TYPES = frozenset(BUILDERS)


def intents_for(event_type: str, data: dict[str, Any], *, base_url: str) -> list[Intent]:
    build = BUILDERS.get(event_type)
    if build is None:
        return []
    out = build(data, base_url.rstrip("/"))
    return out if isinstance(out, list) else [out]
