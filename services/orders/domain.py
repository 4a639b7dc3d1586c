"""Rules of an order: its state machine, its totals and the saga's plan. Pure functions.

Order states::

    pending -> awaiting_payment -> paid -> fulfilling -> shipped -> delivered
                                                                    -> partially_refunded -> refunded
    pending | awaiting_payment -> payment_failed | cancelled
    paid | fulfilling -> cancelled (money refunded, stock put back)

The saga that drives a new order: reserve stock -> take payment -> confirm (order paid, cart
accepted) -> commit stock -> create shipment. Until the stock is committed every step can be
undone, so a failure compensates (release stock, void or refund, release the cart snapshot,
cancel); after it the saga only moves forward (a shipment that cannot be booked yet is retried).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

PENDING, AWAITING_PAYMENT, PAID, FULFILLING, SHIPPED, DELIVERED = (
    "pending", "awaiting_payment", "paid", "fulfilling", "shipped", "delivered")
CANCELLED, PAYMENT_FAILED, REFUNDED, PARTIALLY_REFUNDED = (
    "cancelled", "payment_failed", "refunded", "partially_refunded")
STATUSES = (PENDING, AWAITING_PAYMENT, PAID, FULFILLING, SHIPPED, DELIVERED, CANCELLED,
            PAYMENT_FAILED, REFUNDED, PARTIALLY_REFUNDED)

TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({AWAITING_PAYMENT, PAYMENT_FAILED, CANCELLED}),
    AWAITING_PAYMENT: frozenset({PAID, PAYMENT_FAILED, CANCELLED}),
    PAID: frozenset({FULFILLING, CANCELLED}),
    FULFILLING: frozenset({SHIPPED, DELIVERED, CANCELLED}),
    SHIPPED: frozenset({DELIVERED}),
    DELIVERED: frozenset({PARTIALLY_REFUNDED, REFUNDED}),
    PARTIALLY_REFUNDED: frozenset({PARTIALLY_REFUNDED, REFUNDED}),
    CANCELLED: frozenset(),
    PAYMENT_FAILED: frozenset(),
    REFUNDED: frozenset(),
}
CANCELLABLE = frozenset({PENDING, AWAITING_PAYMENT, PAID, FULFILLING})
"""A shopper may cancel until the parcel has left (shipped)."""

# Saga steps, in order, and its states.
RESERVE, PAY, AWAIT_PAYMENT, CONFIRM, COMMIT, SHIP, DONE = (
    "reserve", "pay", "await_payment", "confirm", "commit", "ship", "done")
STEPS = (RESERVE, PAY, AWAIT_PAYMENT, CONFIRM, COMMIT, SHIP, DONE)
RUNNING, WAITING, COMPENSATING, COMPLETED, COMPENSATED = (
    "running", "waiting", "compensating", "completed", "compensated")
ACTIVE_SAGA = (RUNNING, WAITING, COMPENSATING)

# Compensations, in the order they run.
CANCEL_SHIPMENT, RELEASE_STOCK, RESTOCK, SETTLE_PAYMENT, RELEASE_SNAPSHOT = (
    "cancel_shipment", "release_stock", "restock", "settle_payment", "release_snapshot")


class OrderRuleError(Exception):
    """An order rule was broken; `slug` and `status` become the problem+json answer."""

    def __init__(self, detail: str, *, slug: str, status: int = 409, **extra: object):
        super().__init__(detail)
        self.detail, self.slug, self.status, self.extra = detail, slug, status, extra


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS[current]:
        raise OrderRuleError(f"An order that is {current.replace('_', ' ')} cannot become "
                             f"{target.replace('_', ' ')}.", slug="illegal-transition",
                             current=current, target=target)


def totals(*, subtotal: int, discount: int, quote_price: int, shipping_discount: int) -> dict[str, int]:
    """The chosen delivery quote replaces the cart's standard fee; a free-delivery promotion
    (the snapshot's shipping discount) still applies to it, never below zero."""
    shipping = max(0, quote_price - shipping_discount)
    return {"subtotal_minor": subtotal, "discount_minor": discount, "shipping_minor": shipping,
            "total_minor": subtotal - discount + shipping}


def request_fingerprint(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def retry_delay(attempt: int, *, base: float, cap: float) -> timedelta:
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempt - 1)))


def compensation_plan(*, step: str, committed: bool, shipment: bool,
                      snapshot_accepted: bool) -> list[str]:
    """What must be undone for an order whose saga got as far as `step`. Every action is
    idempotent and harmless when there is nothing to undo (a reservation that never happened,
    a payment never created), so the plan errs on the side of trying."""
    plan = [CANCEL_SHIPMENT] if shipment else []
    plan.append(RESTOCK if committed else RELEASE_STOCK)
    if STEPS.index(step) >= STEPS.index(PAY):
        plan.append(SETTLE_PAYMENT)
    if not snapshot_accepted:
        plan.append(RELEASE_SNAPSHOT)
    return plan


def payment_deadline(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)
