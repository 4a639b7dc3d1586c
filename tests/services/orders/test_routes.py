"""The gateway's route rules for orders, payments and delivery: who may call what."""

from __future__ import annotations

import pytest

from services.gateway.routes import RULES, match

CASES = [
    ("POST", "/api/orders", "orders", "user"),
    ("GET", "/api/orders", "orders", "user"),
    ("GET", "/api/orders/0b6c", "orders", "user"),
    ("POST", "/api/orders/0b6c/cancel", "orders", "user"),
    ("POST", "/api/orders/0b6c/returns", "orders", "user"),
    ("POST", "/api/orders/0b6c/reorder", "orders", "user"),
    ("GET", "/api/orders/admin", "orders.admin", "admin"),
    ("POST", "/api/orders/admin/0b6c/actions", "orders.admin", "admin"),
    ("POST", "/api/payments", "payments", "user"),
    ("POST", "/api/payments/cards", "payments", "user"),
    ("GET", "/api/payments/wallet", "payments", "user"),
    ("POST", "/api/payments/wallet/top-ups", "payments", "user"),
    ("POST", "/api/payments/pay_1/confirm", "payments", "user"),
    ("POST", "/api/payments/pay_1/refunds", "payments.admin", "admin"),
    ("POST", "/api/payments/pay_1/capture", "payments.admin", "admin"),
    ("GET", "/api/payments/ledger/balance", "payments.admin", "admin"),
    ("POST", "/api/payments/webhooks/chain", "payments.chain", "public"),
    ("GET", "/api/delivery/carriers", "delivery.public", "public"),
    ("GET", "/api/delivery/tracking/1ZSHOP42010000001", "delivery.public", "public"),
    ("POST", "/api/delivery/webhooks/boxline", "delivery.webhooks", "public"),
    ("POST", "/api/delivery/quotes", "delivery.quotes", "user"),
    ("GET", "/api/delivery/shipments/shp_1", "delivery.shipments", "user"),
    ("POST", "/api/delivery/shipments", "delivery.shipments.admin", "admin"),
    ("POST", "/api/delivery/shipments/shp_1/cancel", "delivery.shipments.admin", "admin"),
]


@pytest.mark.parametrize(("method", "path", "name", "access"), CASES)
def test_checkout_routes(method: str, path: str, name: str, access: str) -> None:
    rule = match(RULES, method, path)
    assert rule is not None and (rule.name, rule.access) == (name, access)


@pytest.mark.parametrize("path", ["/api/orders/webhooks/payments", "/api/orders/0b6c/elsewhere",
                                  "/api/payments/pay_1/elsewhere"])
def test_internal_routes_are_not_exposed(path: str) -> None:
    assert match(RULES, "POST", path) is None
