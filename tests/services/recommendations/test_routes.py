"""The gateway exposes each recommendations route with the right access level."""

from __future__ import annotations

import pytest

from services.gateway.routes import RULES, match


@pytest.mark.parametrize("method, path, access", [
    ("GET", "/api/recommendations/popular", "public"),
    ("GET", "/api/recommendations/items/P1/similar", "public"),
    ("GET", "/api/recommendations/items/P1/bought-together", "public"),
    ("POST", "/api/recommendations/cart", "public"),
    ("GET", "/api/recommendations/me", "user"),
    ("GET", "/api/recommendations/me/offers", "user"),
    ("GET", "/api/recommendations/users/U1", "user"),
    ("GET", "/api/recommendations/status", "admin"),
    ("POST", "/api/recommendations/offer-rules", "admin"),
    ("PATCH", "/api/recommendations/offer-rules/r1", "admin"),
    ("POST", "/api/recommendations/offer-rules/grant", "admin"),
])
def test_route_access(method: str, path: str, access: str) -> None:
    rule = match(RULES, method, path)
    assert rule is not None and rule.service == "recommendations" and rule.access == access
    assert not rule.cache


@pytest.mark.parametrize("method, path", [
    ("POST", "/api/recommendations/popular"),
    ("DELETE", "/api/recommendations/me"),
    ("GET", "/api/recommendations/items/P1"),
    ("GET", "/api/recommendations/cart"),
])
def test_unrouted_paths_stay_closed(method: str, path: str) -> None:
    assert match(RULES, method, path) is None
