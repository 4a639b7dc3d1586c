"""The whole checkout over real HTTP: the real users (tokens and the orders service account),
cart (real Redis), inventory, payments, delivery and orders services, plus a catalog stand-in (a
small real FastAPI app with the catalog's product shape, whose prices a test can change).

Neighbours run on SQLite files; the orders service runs on SQLite and PostgreSQL
(`database_url`).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from services.cart.app import create_app as create_cart
from services.cart.settings import CartSettings
from services.delivery.app import create_app as create_delivery
from services.delivery.settings import DeliverySettings
from services.delivery.store import OUTBOX as DELIVERY_OUTBOX
from services.inventory.app import create_app as create_inventory
from services.inventory.settings import InventorySettings
from services.orders.app import create_app as create_orders
from services.orders.settings import OrdersSettings
from services.orders.store import OUTBOX as ORDERS_OUTBOX
from services.payments.app import create_app as create_payments
from services.payments.settings import PaymentsSettings
from services.payments.store import OUTBOX as PAYMENTS_OUTBOX
from tests.services.orders.support import Issuer, Running, issuer, running  # noqa: F401
from tests.support.servers import serve

SERVICE_EMAIL = "orders-service@shop.test"
SERVICE_PASSWORD = "orders service test password 42"
WEBHOOK_SECRET = "orders-webhook-test-secret"
ADMIN = "admin-1"
ADDRESS = {"recipient": "Ann Example", "line1": "Hauptstr. 1", "city": "Berlin",
           "postcode": "10115", "country": "DE"}
CARDS = {"ok": "4242424242424242", "declined": "4000000000000002",
         "3ds": "4000000000003220", "insufficient": "4000000000009995"}
_serial = itertools.count(1)


def catalog_stand_in() -> FastAPI:
    app = FastAPI(title="catalog")
    app.state.products = {}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/catalog/products/{product_id}")
    def product(product_id: str) -> dict[str, Any]:
        p = app.state.products.get(product_id)
        if p is None:
            raise HTTPException(404, "no such product")
        return {"id": product_id, "sku": p["sku"], "title": p["title"], "description": "",
                "brand": None, "category": {"path": "home", "names": ["Home"]}, "attributes": {},
                "tags": [], "price_minor": p["price_minor"], "currency": "EUR", "rating_avg": 0.0,
                "rating_count": 0, "photos": [],
                "availability": {"status": "in_stock", "available": None, "as_of": None},
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}

    return app


@dataclass
class Neighbours:
    issuer: Issuer
    catalog: FastAPI
    inventory: Running
    cart: Running
    payments: Running
    delivery: Running
    tmp: Path

    def product(self, price_minor: int = 1_000, stock: int = 10) -> str:
        """A new product (unique id and SKU) with `stock` units; returns its id."""
        n = next(_serial)
        pid, sku = f"p{n}-{uuid.uuid4().hex[:6]}", f"SKU-{n}-{uuid.uuid4().hex[:6]}"
        self.catalog.state.products[pid] = {"sku": sku, "title": f"Product {n}", "price_minor": price_minor}
        if stock:
            self.adjust(sku, stock)
        return pid

    def sku(self, product_id: str) -> str:
        return self.catalog.state.products[product_id]["sku"]

    def adjust(self, sku: str, delta: int) -> None:
        r = self.inventory.http.post(f"/api/inventory/stock/{sku}/adjustments",
                                     json={"delta": delta, "reason": "test stock"},
                                     headers=self.issuer.auth(ADMIN, admin=True))
        assert r.status_code == 201, r.text

    def stock(self, product_id: str) -> dict[str, Any]:
        r = self.inventory.http.get(f"/api/inventory/stock/{self.sku(product_id)}")
        assert r.status_code == 200, r.text
        return r.json()

    def card(self, user: str, kind: str = "ok") -> str:
        r = self.payments.http.post("/api/payments/cards", headers=self.issuer.auth(user), json={
            "number": CARDS[kind], "exp_month": 12, "exp_year": 2031, "cvc": "123"})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    def snapshot(self, user: str, lines: list[tuple[str, int]]) -> dict[str, Any]:
        auth = self.issuer.auth(user)
        for pid, qty in lines:
            r = self.cart.http.post("/api/cart/items", json={"product_id": pid, "quantity": qty},
                                    headers=auth)
            assert r.status_code == 200, r.text
        r = self.cart.http.post("/api/cart/checkout", headers=auth)
        assert r.status_code == 201, r.text
        return r.json()

    def quote(self, user: str, country: str = "DE", pickup: bool = False) -> dict[str, Any]:
        r = self.delivery.http.post("/api/delivery/quotes", headers=self.issuer.auth(user), json={
            "destination": {"country": country, "postcode": "10115"}, "items": [{"quantity": 1}]})
        assert r.status_code == 201, r.text
        return next(q for q in r.json()["items"] if q["pickup"] == pickup)

    def order_body(self, user: str, lines: list[tuple[str, int]], *, method: str = "card",
                   card: str = "ok") -> dict[str, Any]:
        payment: dict[str, Any] = {"method": method}
        if method == "card":
            payment["card_token"] = self.card(user, card)
        return {"snapshot_id": self.snapshot(user, lines)["id"], "address": ADDRESS,
                "delivery": {"quote_id": self.quote(user)["id"]}, "payment": payment}

    def payments_of(self, order_id: str) -> list[dict[str, Any]]:
        r = self.payments.http.get("/api/payments", params={"order_id": order_id},
                                   headers=self.issuer.auth(ADMIN, admin=True))
        return list(r.json()["items"])

    def ledger_balanced(self) -> bool:
        r = self.payments.http.get("/api/payments/ledger/balance",
                                   headers=self.issuer.auth(ADMIN, admin=True))
        return bool(r.json()["balanced"])


@pytest.fixture(scope="session")
def service_account(issuer: Issuer) -> str:  # noqa: F811
    issuer.users_app.state.accounts.create_admin(email=SERVICE_EMAIL, password=SERVICE_PASSWORD)
    return SERVICE_EMAIL


@pytest.fixture
def neighbours(issuer: Issuer, redis_url: str, redis_client: Any,  # noqa: F811
               tmp_path: Path) -> Iterator[Neighbours]:
    with ExitStack() as stack:
        catalog = catalog_stand_in()
        catalog_url = stack.enter_context(serve(catalog))
        common = {"data_dir": tmp_path, "jwks_url": issuer.jwks_url}
        inventory = stack.enter_context(running(create_inventory(InventorySettings(
            database_url=f"sqlite:///{tmp_path / 'inventory.db'}", **common)), issuer))
        cart = stack.enter_context(running(create_cart(CartSettings(
            redis_url=redis_url, catalog_url=catalog_url, inventory_url=inventory.base_url,
            price_cache_ttl_s=0, **common)), issuer))
        payments = stack.enter_context(running(create_payments(PaymentsSettings(
            database_url=f"sqlite:///{tmp_path / 'payments.db'}", webhook_secret=WEBHOOK_SECRET,
            orders_webhook_url="http://127.0.0.1:9/unused", **common)), issuer, PAYMENTS_OUTBOX))
        delivery = stack.enter_context(running(create_delivery(DeliverySettings(
            database_url=f"sqlite:///{tmp_path / 'delivery.db'}", **common)), issuer, DELIVERY_OUTBOX))
        yield Neighbours(issuer, catalog, inventory, cart, payments, delivery, tmp_path)


def orders_settings(n: Neighbours, database_url: str, **overrides: Any) -> OrdersSettings:
    return OrdersSettings(**{
        "database_url": database_url, "data_dir": n.tmp, "jwks_url": n.issuer.jwks_url,
        "users_url": n.issuer.jwks_url.rsplit("/.well-known", 1)[0], "cart_url": n.cart.base_url,
        "inventory_url": n.inventory.base_url, "payments_url": n.payments.base_url,
        "delivery_url": n.delivery.base_url, "service_email": SERVICE_EMAIL,
        "service_password": SERVICE_PASSWORD, "payments_webhook_secret": WEBHOOK_SECRET,
        "saga_retry_base_s": 0.05, "saga_poll_s": 0.05, **overrides})


@dataclass
class Shop:
    n: Neighbours
    orders: Running

    def place(self, user: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        headers = {**self.n.issuer.auth(user), "Idempotency-Key": key or uuid.uuid4().hex}
        return self.orders.http.post("/api/orders", json=body, headers=headers)

    def checkout(self, user: str, lines: list[tuple[str, int]], **kw: Any) -> dict[str, Any]:
        r = self.place(user, self.n.order_body(user, lines, **kw))
        assert r.status_code == 201, r.text
        return dict(r.json())

    def settled(self, order_id: str, timeout: float = 20) -> dict[str, Any]:
        """The order once its saga has stopped moving (completed, compensated or waiting)."""
        deadline = time.monotonic() + timeout
        while True:
            detail = self.detail(order_id)
            if detail["saga"]["state"] in ("completed", "compensated", "waiting"):
                return detail
            assert time.monotonic() < deadline, detail
            time.sleep(0.05)

    def detail(self, order_id: str, user: str = ADMIN) -> dict[str, Any]:
        r = self.orders.http.get(f"/api/orders/{order_id}",
                                 headers=self.n.issuer.auth(user, admin=user == ADMIN))
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.fixture
def make_shop(neighbours: Neighbours, database_url: str,
              service_account: str) -> Iterator[Callable[..., Shop]]:
    with ExitStack() as stack:
        def make(**overrides: Any) -> Shop:
            app = create_orders(orders_settings(neighbours, database_url, **overrides))
            return Shop(neighbours, stack.enter_context(running(app, neighbours.issuer, ORDERS_OUTBOX)))

        yield make


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop()
