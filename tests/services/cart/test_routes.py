"""The gateway's route rules for the cart and inventory: who may call what."""

from __future__ import annotations

import pytest

from services.gateway.routes import RULES, match

CASES = [
    ("GET", "/api/cart", "cart", "public"),
    ("POST", "/api/cart/items", "cart", "public"),
    ("PUT", "/api/cart/items/42", "cart", "public"),
    ("POST", "/api/cart/items/42/save", "cart", "public"),
    ("POST", "/api/cart/saved/42/move", "cart", "public"),
    ("DELETE", "/api/cart/codes/SPRING", "cart", "public"),
    ("POST", "/api/cart/prices/acknowledge", "cart", "public"),
    ("POST", "/api/cart/checkout", "cart.checkout", "user"),
    ("POST", "/api/cart/merge", "cart.checkout", "user"),
    ("GET", "/api/cart/snapshots/abc", "cart.snapshots", "user"),
    ("GET", "/api/cart/offers", "cart.offers", "user"),
    ("POST", "/api/cart/promotions", "cart.promotions", "admin"),
    ("PATCH", "/api/cart/promotions/abc", "cart.promotions", "admin"),
    ("GET", "/api/inventory/stock/MUG-1", "inventory.stock", "public"),
    ("GET", "/api/inventory/stock", "inventory.stock", "public"),
    ("POST", "/api/inventory/stock/MUG-1/adjustments", "inventory.stock.admin", "admin"),
    ("GET", "/api/inventory/stock/MUG-1/adjustments", "inventory.stock.admin", "admin"),
    ("PATCH", "/api/inventory/stock/MUG-1", "inventory.stock.admin", "admin"),
    ("POST", "/api/inventory/subscriptions", "inventory.subscriptions", "user"),
    ("DELETE", "/api/inventory/subscriptions/MUG-1", "inventory.subscriptions", "user"),
    ("POST", "/api/inventory/reservations", "inventory.reservations", "admin"),
]


@pytest.mark.parametrize(("method", "path", "name", "access"), CASES)
def test_cart_and_inventory_routes(method: str, path: str, name: str, access: str) -> None:
    rule = match(RULES, method, path)
    assert rule is not None and (rule.name, rule.access, rule.rate) == (name, access, "user")


@pytest.mark.parametrize("path", ["/api/cart/snapshots/abc/accept", "/api/cart/snapshots/abc/release",
                                  "/api/cart/elsewhere"])
def test_service_to_service_cart_routes_are_not_exposed(path: str) -> None:
    assert match(RULES, "POST", path) is None
