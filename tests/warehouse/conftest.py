# ruff: noqa: E501  (one event per line reads better than wrapped constructor calls)
"""A small, hand-written event history whose mart numbers are computed by hand in the tests.

Story (all EUR, times UTC):
- catalog: P1 knife 5000 (price 4500 from 01-10), P2 board 2000, P3 shoes 8000, P4 mat 3000
  (deleted 01-20); users U1..U4 register 01-01..01-04 (U4 never orders).
- 01-05 session A1 (device D1, U1) lands from campaign C1, searches "Knife " (5 results,
  clicks #2), views P1, adds P1, places O1 (2xP1 + 1xP2 + 500 shipping = 12500, campaign C1),
  paid by card, delivered 01-08.
- 01-05 session B1 (device D2, anonymous) searches "red shoes" and "Red  Shoes" (0 results),
  views P3. 01-06 session B2 (device D2, logged in as U2) views and adds P3, places O2 (8000),
  paid by paypal, 3000 refunded 01-15. B1 is stitched to U2 through the device.
- 01-06 session C1 (device D3, U3) lands from C2, views and adds P2, applies SAVE10 (C2, -200),
  places O3 (2xP2 - 200 = 3800, promo SAVE10, campaign C2), paid by card, delivered 01-09.
- 02-10 session A2 (D1, U1) searches "knife" (5 results, no click), views and adds P1, places
  O4 (4500); the card fails and O4 is cancelled.
- 02-10 session E1 (device D5, anonymous) lands from C1, views and adds P2; cart abandoned (C1).
- 02-11 U3 places O5 without a session (P3 8000 + P2 2000 = 10000), paid by bank transfer;
  the order.paid event is late: it reaches the lake in a second batch on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.platform.events import Event, EventData, make_event
from warehouse.schema import load_contracts

load_contracts()

from services.analytics.events import AddToCart, PageView, ProductView, Search  # noqa: E402
from services.cart.events import CartAbandoned, CartPromoCodeApplied  # noqa: E402
from services.catalog.events import (  # noqa: E402
    ProductCreated,
    ProductDeleted,
    ProductUpdated,
)
from services.orders.events import (  # noqa: E402
    OrderCancelled,
    OrderDelivered,
    OrderLine,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
)
from services.payments.events import (  # noqa: E402
    PaymentCaptured,
    PaymentFailed,
    PaymentRefunded,
)
from services.users.events import UserRegistered  # noqa: E402

_counter = 0


def ev(when: str, data: EventData, source: str) -> Event:
    """An event at `when` (`YYYY-MM-DD HH:MM`, UTC) with a readable, stable id."""
    global _counter
    _counter += 1
    at = datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    event = make_event(data, source=source)
    return event.model_copy(update={"occurred_at": at, "id": f"e{_counter:03d}-{data.event_type}"})


def product(pid: str, sku: str, title: str, brand: str, path: list[str], price: int, **kw):
    return dict(product_id=pid, sku=sku, title=title, brand=brand, category_path=path,
                price_minor=price, currency="EUR", **kw)


def behaviour(session: str, device: str, user: str | None) -> dict:
    return dict(session_id=session, anonymous_id=device, user_id=user)


def line(pid: str, qty: int, price: int, category: str, discount: int = 0) -> OrderLine:
    return OrderLine(sku="S" + pid[1:], product_id=pid, category=category, quantity=qty,
                     unit_price_minor=price, discount_minor=discount)


def build_history() -> tuple[list[Event], list[Event]]:
    """(main batch, late batch)."""
    global _counter
    _counter = 0
    a1, b1, b2 = behaviour("A1", "D1", "U1"), behaviour("B1", "D2", None), behaviour("B2", "D2", "U2")
    c1, a2, e1 = behaviour("C1", "D3", "U3"), behaviour("A2", "D1", "U1"), behaviour("E1", "D5", None)
    main = [
        ev("2024-01-01 09:00", ProductCreated(**product("P1", "S1", "Chef Knife", "Acme", ["Home", "Kitchen"], 5000)), "catalog"),
        ev("2024-01-01 09:00", ProductCreated(**product("P2", "S2", "Cutting Board", "Acme", ["Home", "Kitchen"], 2000)), "catalog"),
        ev("2024-01-01 09:00", ProductCreated(**product("P3", "S3", "Running Shoes", "Zoom", ["Sports", "Shoes"], 8000)), "catalog"),
        ev("2024-01-01 09:00", ProductCreated(**product("P4", "S4", "Yoga Mat", "Zoom", ["Sports", "Fitness"], 3000)), "catalog"),
        ev("2024-01-10 09:00", ProductUpdated(**product("P1", "S1", "Chef Knife", "Acme", ["Home", "Kitchen"], 4500)), "catalog"),
        ev("2024-01-20 09:00", ProductDeleted(product_id="P4", sku="S4"), "catalog"),
        ev("2024-01-01 08:00", UserRegistered(user_id="U1", email="u1@example.com"), "users"),
        ev("2024-01-02 08:00", UserRegistered(user_id="U2", email="u2@example.com"), "users"),
        ev("2024-01-03 08:00", UserRegistered(user_id="U3", email="u3@example.com"), "users"),
        ev("2024-01-04 08:00", UserRegistered(user_id="U4", email="u4@example.com"), "users"),
        # 01-05 session A1
        ev("2024-01-05 10:00", PageView(**a1, path="/", campaign_id="C1"), "analytics"),
        ev("2024-01-05 10:01", Search(**a1, query="Knife ", result_count=5, clicked_position=2, clicked_product_id="P1"), "analytics"),
        ev("2024-01-05 10:02", ProductView(**a1, product_id="P1", sku="S1", category="Home"), "analytics"),
        ev("2024-01-05 10:03", AddToCart(**a1, product_id="P1", sku="S1", quantity=2, unit_price_minor=5000, currency="EUR"), "analytics"),
        ev("2024-01-05 10:05", OrderPlaced(order_id="O1", user_id="U1", session_id="A1", lines=[line("P1", 2, 5000, "Home"), line("P2", 1, 2000, "Home")], subtotal_minor=12000, shipping_minor=500, total_minor=12500, currency="EUR", campaign_ids=["C1"]), "orders"),
        ev("2024-01-05 10:06", PaymentCaptured(payment_id="PAY1", order_id="O1", user_id="U1", amount_minor=12500, currency="EUR", method="card"), "payments"),
        ev("2024-01-05 10:06", OrderPaid(order_id="O1", user_id="U1", payment_id="PAY1", amount_minor=12500, currency="EUR"), "orders"),
        ev("2024-01-08 16:00", OrderDelivered(order_id="O1", user_id="U1", carrier="DHL"), "orders"),
        # 01-05 session B1 (anonymous) and 01-06 session B2 (same device, logged in)
        ev("2024-01-05 11:00", PageView(**b1, path="/"), "analytics"),
        ev("2024-01-05 11:01", Search(**b1, query="red shoes", result_count=0), "analytics"),
        ev("2024-01-05 11:02", Search(**b1, query="Red  Shoes", result_count=0), "analytics"),
        ev("2024-01-05 11:03", ProductView(**b1, product_id="P3", sku="S3", category="Sports"), "analytics"),
        ev("2024-01-06 09:00", PageView(**b2, path="/"), "analytics"),
        ev("2024-01-06 09:01", ProductView(**b2, product_id="P3", sku="S3", category="Sports"), "analytics"),
        ev("2024-01-06 09:02", AddToCart(**b2, product_id="P3", sku="S3", quantity=1, unit_price_minor=8000, currency="EUR"), "analytics"),
        ev("2024-01-06 09:05", OrderPlaced(order_id="O2", user_id="U2", session_id="B2", lines=[line("P3", 1, 8000, "Sports")], subtotal_minor=8000, total_minor=8000, currency="EUR"), "orders"),
        ev("2024-01-06 09:06", PaymentCaptured(payment_id="PAY2", order_id="O2", user_id="U2", amount_minor=8000, currency="EUR", method="paypal"), "payments"),
        ev("2024-01-06 09:06", OrderPaid(order_id="O2", user_id="U2", payment_id="PAY2", amount_minor=8000, currency="EUR"), "orders"),
        ev("2024-01-15 10:00", PaymentRefunded(payment_id="PAY2", order_id="O2", user_id="U2", amount_minor=3000, currency="EUR", method="paypal"), "payments"),
        ev("2024-01-15 10:00", OrderRefunded(order_id="O2", user_id="U2", amount_minor=3000, currency="EUR", reason="damaged"), "orders"),
        # 01-06 session C1 with a promo code
        ev("2024-01-06 12:00", PageView(**c1, path="/sale", campaign_id="C2"), "analytics"),
        ev("2024-01-06 12:01", ProductView(**c1, product_id="P2", sku="S2", category="Home"), "analytics"),
        ev("2024-01-06 12:02", AddToCart(**c1, product_id="P2", sku="S2", quantity=2, unit_price_minor=2000, currency="EUR"), "analytics"),
        ev("2024-01-06 12:03", CartPromoCodeApplied(cart_id="K3", session_id="C1", user_id="U3", promo_code="SAVE10", campaign_id="C2", discount_minor=200, currency="EUR"), "cart"),
        ev("2024-01-06 12:05", OrderPlaced(order_id="O3", user_id="U3", session_id="C1", lines=[line("P2", 2, 2000, "Home", discount=200)], subtotal_minor=4000, discount_minor=200, total_minor=3800, currency="EUR", promo_codes=["SAVE10"], campaign_ids=["C2"]), "orders"),
        ev("2024-01-06 12:06", PaymentCaptured(payment_id="PAY3", order_id="O3", user_id="U3", amount_minor=3800, currency="EUR", method="card"), "payments"),
        ev("2024-01-06 12:06", OrderPaid(order_id="O3", user_id="U3", payment_id="PAY3", amount_minor=3800, currency="EUR"), "orders"),
        ev("2024-01-09 15:00", OrderDelivered(order_id="O3", user_id="U3"), "orders"),
        # 02-10 session A2: payment fails, order cancelled
        ev("2024-02-10 08:00", PageView(**a2, path="/"), "analytics"),
        ev("2024-02-10 08:01", Search(**a2, query="knife", result_count=5), "analytics"),
        ev("2024-02-10 08:02", ProductView(**a2, product_id="P1", sku="S1", category="Home"), "analytics"),
        ev("2024-02-10 08:03", AddToCart(**a2, product_id="P1", sku="S1", quantity=1, unit_price_minor=4500, currency="EUR"), "analytics"),
        ev("2024-02-10 08:05", OrderPlaced(order_id="O4", user_id="U1", session_id="A2", lines=[line("P1", 1, 4500, "Home")], subtotal_minor=4500, total_minor=4500, currency="EUR"), "orders"),
        ev("2024-02-10 08:06", PaymentFailed(payment_id="PAY4", order_id="O4", user_id="U1", amount_minor=4500, currency="EUR", method="card", reason="declined"), "payments"),
        ev("2024-02-10 08:30", OrderCancelled(order_id="O4", user_id="U1", reason="payment_failed"), "orders"),
        # 02-10 session E1: abandoned cart from campaign C1
        ev("2024-02-10 14:00", PageView(**e1, path="/", campaign_id="C1"), "analytics"),
        ev("2024-02-10 14:01", ProductView(**e1, product_id="P2", sku="S2", category="Home"), "analytics"),
        ev("2024-02-10 14:02", AddToCart(**e1, product_id="P2", sku="S2", quantity=1, unit_price_minor=2000, currency="EUR"), "analytics"),
        ev("2024-02-10 15:00", CartAbandoned(cart_id="K5", session_id="E1", item_count=1, subtotal_minor=2000, currency="EUR", campaign_id="C1"), "cart"),
        # 02-11 O5 without a session
        ev("2024-02-11 10:00", OrderPlaced(order_id="O5", user_id="U3", lines=[line("P3", 1, 8000, "Sports"), line("P2", 1, 2000, "Home")], subtotal_minor=10000, total_minor=10000, currency="EUR"), "orders"),
        ev("2024-02-11 10:01", PaymentCaptured(payment_id="PAY5", order_id="O5", user_id="U3", amount_minor=10000, currency="EUR", method="bank_transfer"), "payments"),
    ]
    late = [
        ev("2024-02-11 10:01", OrderPaid(order_id="O5", user_id="U3", payment_id="PAY5", amount_minor=10000, currency="EUR"), "orders"),
    ]
    return main, late


@pytest.fixture
def history() -> tuple[list[Event], list[Event]]:
    return build_history()


@pytest.fixture(scope="session")
def shared_history() -> tuple[list[Event], list[Event]]:
    """The same history for module-scoped fixtures (events are immutable)."""
    return build_history()


@pytest.fixture
def lake_root(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def warehouse_dir(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"
