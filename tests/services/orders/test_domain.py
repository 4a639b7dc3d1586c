"""The order state machine, totals and the saga's compensation plans (pure)."""

from __future__ import annotations

import pytest

from services.orders import domain
from services.orders.domain import OrderRuleError


@pytest.mark.parametrize(("current", "target"), [
    ("pending", "awaiting_payment"), ("awaiting_payment", "paid"), ("paid", "fulfilling"),
    ("fulfilling", "shipped"), ("shipped", "delivered"), ("delivered", "partially_refunded"),
    ("partially_refunded", "refunded"), ("awaiting_payment", "payment_failed"),
    ("fulfilling", "cancelled"), ("fulfilling", "delivered"),
])
def test_legal_transitions(current: str, target: str) -> None:
    domain.check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), [
    ("pending", "paid"), ("shipped", "cancelled"), ("delivered", "cancelled"),
    ("cancelled", "paid"), ("payment_failed", "awaiting_payment"), ("refunded", "delivered"),
    ("paid", "payment_failed"),
])
def test_illegal_transitions_are_refused(current: str, target: str) -> None:
    with pytest.raises(OrderRuleError) as err:
        domain.check_transition(current, target)
    assert err.value.slug == "illegal-transition" and err.value.status == 409


def test_every_status_has_its_transitions() -> None:
    assert set(domain.TRANSITIONS) == set(domain.STATUSES)
    assert all(t <= set(domain.STATUSES) for t in domain.TRANSITIONS.values())


def test_totals_use_the_chosen_quote_and_keep_free_delivery() -> None:
    assert domain.totals(subtotal=5_000, discount=500, quote_price=699, shipping_discount=0) == {
        "subtotal_minor": 5_000, "discount_minor": 500, "shipping_minor": 699, "total_minor": 5_199}
    free = domain.totals(subtotal=5_000, discount=0, quote_price=699, shipping_discount=499)
    assert free["shipping_minor"] == 200
    assert domain.totals(subtotal=1, discount=0, quote_price=100, shipping_discount=999)[
        "shipping_minor"] == 0


@pytest.mark.parametrize(("kwargs", "plan"), [
    ({"step": "reserve"}, ["release_stock", "release_snapshot"]),
    ({"step": "pay"}, ["release_stock", "settle_payment", "release_snapshot"]),
    ({"step": "commit", "snapshot_accepted": True}, ["release_stock", "settle_payment"]),
    ({"step": "done", "committed": True, "shipment": True, "snapshot_accepted": True},
     ["cancel_shipment", "restock", "settle_payment"]),
])
def test_compensation_plans(kwargs: dict, plan: list[str]) -> None:
    args = {"committed": False, "shipment": False, "snapshot_accepted": False, **kwargs}
    assert domain.compensation_plan(**args) == plan


def test_fingerprint_and_backoff() -> None:
    assert domain.request_fingerprint({"a": 1, "b": 2}) == domain.request_fingerprint({"b": 2, "a": 1})
    assert [domain.retry_delay(n, base=0.5, cap=3).total_seconds() for n in (1, 2, 3, 4)] == [
        0.5, 1.0, 2.0, 3.0]
