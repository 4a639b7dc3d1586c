"""The cart service over real HTTP with real Redis, the real inventory service (SQLite) and a
catalog stand-in: a small real FastAPI app serving the catalog's product shape over HTTP, whose
prices a test can change (the catalog service is built by another team at the same time)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis as redis_lib
from fastapi import FastAPI, HTTPException

from services.cart.app import create_app
from services.cart.settings import CartSettings
from services.inventory.app import create_app as create_inventory
from services.inventory.settings import InventorySettings
from tests.services.inventory.identity import Issuer, issuer  # noqa: F401 - fixture
from tests.support.servers import serve

ADMIN = "admin-1"
PRODUCTS: dict[str, dict[str, Any]] = {
    "1": {"sku": "MUG-1", "title": "Mug", "path": "home/kitchen", "price_minor": 999},
    "2": {"sku": "KNF-1", "title": "Chef knife", "path": "home/kitchen/knives", "price_minor": 4500},
    "3": {"sku": "TEE-1", "title": "T-shirt", "path": "fashion/tops", "price_minor": 1500},
    "4": {"sku": "USD-1", "title": "Import", "path": "misc", "price_minor": 100, "currency": "USD"},
}
STOCK = {"MUG-1": 50, "KNF-1": 5, "TEE-1": 30, "USD-1": 10}


def catalog_stand_in() -> FastAPI:
    app = FastAPI(title="catalog")
    app.state.products = {}
    app.state.hits = 0
    app.state.fail = False

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/catalog/products/{product_id}")
    def product(product_id: str) -> dict[str, Any]:
        app.state.hits += 1
        if app.state.fail:
            raise HTTPException(500, "down")
        p = app.state.products.get(product_id)
        if p is None:
            raise HTTPException(404, "no such product")
        names = [s.title() for s in p["path"].split("/")]
        return {"id": int(product_id), "sku": p["sku"], "title": p["title"], "description": "",
                "brand": None, "category": {"path": p["path"], "names": names}, "attributes": {},
                "tags": [], "price_minor": p["price_minor"], "currency": p.get("currency", "EUR"),
                "rating_avg": 0.0, "rating_count": 0, "photos": [],
                "availability": {"status": "in_stock", "available": None, "as_of": None},
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}

    return app


@dataclass
class CartService:
    app: FastAPI
    http: httpx.Client
    base_url: str
    catalog: FastAPI
    inventory_url: str
    issuer: Issuer
    redis: redis_lib.Redis

    @property
    def carts(self) -> Any:
        return self.app.state.carts

    def auth(self, user_id: str = "ann", *, admin: bool = False) -> dict[str, str]:
        return self.issuer.auth(user_id, admin=admin)

    def admin(self) -> dict[str, str]:
        return self.issuer.auth(ADMIN, admin=True)

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        rows = self.redis.xrange("shop:events:cart")
        out = [orjson.loads(fields[b"event"]) for _, fields in rows]
        return [e for e in out if event_type is None or e["type"] == event_type]

    def set_price(self, product_id: str, price_minor: int) -> None:
        self.catalog.state.products[product_id]["price_minor"] = price_minor

    def set_stock(self, sku: str, delta: int) -> None:
        r = httpx.post(f"{self.inventory_url}/api/inventory/stock/{sku}/adjustments",
                       json={"delta": delta, "reason": "test stock"}, headers=self.admin())
        assert r.status_code == 201, r.text

    def add(self, product_id: str, quantity: int = 1, **headers: str) -> httpx.Response:
        return self.http.post("/api/cart/items", json={"product_id": product_id, "quantity": quantity},
                              headers=headers)

    def guest_cart(self, *lines: tuple[str, int]) -> str:
        """Create a guest cart with these lines; return its token."""
        token = None
        for product_id, quantity in lines:
            headers = {"X-Cart-Token": token} if token else {}
            r = self.add(product_id, quantity, **headers)
            assert r.status_code == 200, r.text
            token = token or r.headers["X-Cart-Token"]
        assert token
        return token

    def promotion(self, **fields: Any) -> dict[str, Any]:
        r = self.http.post("/api/cart/promotions", json={"name": "promo", **fields}, headers=self.admin())
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture
def make_cart(
    redis_url: str, redis_client: redis_lib.Redis, issuer: Issuer, tmp_path: Path  # noqa: F811
) -> Iterator[Callable[..., CartService]]:
    with ExitStack() as stack:

        def make(**overrides: Any) -> CartService:
            catalog = catalog_stand_in()
            catalog.state.products = {k: dict(v) for k, v in PRODUCTS.items()}
            catalog_url = stack.enter_context(serve(catalog))
            inventory = create_inventory(InventorySettings(
                database_url=f"sqlite:///{tmp_path / 'inventory.db'}", data_dir=tmp_path,
                jwks_url=issuer.jwks_url))
            inventory_url = stack.enter_context(serve(inventory))
            overrides.setdefault("price_cache_ttl_s", 0)
            settings = CartSettings(redis_url=redis_url, data_dir=tmp_path, catalog_url=catalog_url,
                                    inventory_url=inventory_url, jwks_url=issuer.jwks_url, **overrides)
            app = create_app(settings)
            base = stack.enter_context(serve(app))
            client = stack.enter_context(httpx.Client(base_url=base, timeout=60))
            service = CartService(app, client, base, catalog, inventory_url, issuer, redis_client)
            for sku, units in STOCK.items():
                service.set_stock(sku, units)
            return service

        yield make


@pytest.fixture
def cart(make_cart: Callable[..., CartService]) -> CartService:
    return make_cart()


def problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/" + slug), body
    return body
